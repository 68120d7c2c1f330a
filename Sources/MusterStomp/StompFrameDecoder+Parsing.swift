/// Line, header and body parsing for `StompFrameDecoder`.
///
/// Every search is bounded by the limit that applies, so the decoder never scans (or waits for)
/// more bytes than a valid frame could have, and a too-long line or body fails at the same byte
/// however the stream was split.
extension StompFrameDecoder {
    struct Line {
        /// End of the line's content, before its LF or CRLF.
        var contentEnd: Int
        /// First byte after the LF.
        var next: Int
    }

    enum LineScan {
        case complete(Line)
        case needMoreBytes
        case lineTooLong
        case frameTooLarge
    }

    mutating func nextCommandLine() throws(StompFrameError) -> Line? {
        let maximum = StompCommand.longestNameByteCount
        switch scanLine(maxContentBytes: maximum) {
        case .complete(let line): return line
        case .needMoreBytes: return nil
        case .frameTooLarge: throw .frameTooLarge(limit: limits.maxFrameBytes)
        case .lineTooLong:
            // Only the first bytes are kept, so the error is the same however the line arrived.
            let shown = buffer[lineStart..<(lineStart + maximum + 1)]
            throw .unknownCommand(String(decoding: shown, as: UTF8.self))
        }
    }

    mutating func nextHeaderLine() throws(StompFrameError) -> Line? {
        switch scanLine(maxContentBytes: limits.maxHeaderLineBytes) {
        case .complete(let line): return line
        case .needMoreBytes: return nil
        case .frameTooLarge: throw .frameTooLarge(limit: limits.maxFrameBytes)
        case .lineTooLong: throw .headerTooLarge(limit: limits.maxHeaderLineBytes)
        }
    }

    /// Looks for the LF ending the line at `lineStart`, never past the point where the line or the
    /// frame would be over its limit. On a tie the line limit is reported, being the more specific.
    mutating func scanLine(maxContentBytes: Int) -> LineScan {
        // Content plus an optional CR plus the LF.
        let lineBound = Self.adding(lineStart, maxContentBytes, 2)
        let frameBound = Self.adding(frameStart, limits.maxFrameBytes)
        let searchEnd = min(buffer.count, lineBound, frameBound)
        if scanIndex < searchEnd,
           let lineFeed = ByteSearch.firstIndex(
               of: StompHeaderEscaping.lineFeed, in: buffer, range: scanIndex..<searchEnd) {
            var contentEnd = lineFeed
            if contentEnd > lineStart && buffer[contentEnd - 1] == StompHeaderEscaping.carriageReturn {
                contentEnd -= 1
            }
            if contentEnd - lineStart > maxContentBytes { return .lineTooLong }
            return .complete(Line(contentEnd: contentEnd, next: lineFeed + 1))
        }
        scanIndex = max(scanIndex, searchEnd)
        if searchEnd == lineBound { return .lineTooLong }
        if searchEnd == frameBound { return .frameTooLarge }
        return .needMoreBytes
    }

    mutating func readCommand(contentEnd: Int) throws(StompFrameError) {
        let bytes = buffer[lineStart..<contentEnd]
        if let known = StompCommand(bytes: bytes) {
            command = known
            return
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        throw .unknownCommand(text)
    }

    mutating func readHeader(contentEnd: Int) throws(StompFrameError) {
        guard headers.count < limits.maxHeaderCount else {
            throw .tooManyHeaders(limit: limits.maxHeaderCount)
        }
        let line = lineStart..<contentEnd
        guard let colon = buffer[line].firstIndex(of: StompHeaderEscaping.colon), colon > lineStart else {
            throw .malformedHeader(String(decoding: buffer[line], as: UTF8.self))
        }
        let unescaping = command.escapesHeaders
        let name = try names.name(buffer[lineStart..<colon]) { bytes throws(StompFrameError) in
            try StompHeaderEscaping.decode(bytes, version: version, unescaping: unescaping)
        }
        let value = try StompHeaderEscaping.decode(buffer[(colon + 1)..<contentEnd], version: version, unescaping: unescaping)
        if contentLength == nil && name == "content-length" {
            contentLength = try parseContentLength(value)
        }
        headers.append(name, value)
    }

    /// A non-negative decimal integer; a valid count beyond `maxBodyBytes` (even one overflowing
    /// `Int`) is refused right here, before any body byte is buffered.
    func parseContentLength(_ value: String) throws(StompFrameError) -> Int {
        let digits = value.utf8
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalidContentLength(value)
        }
        var length = 0
        for digit in digits {
            let (shifted, shiftOverflow) = length.multipliedReportingOverflow(by: 10)
            let (sum, sumOverflow) = shifted.addingReportingOverflow(Int(digit - 0x30))
            guard !shiftOverflow, !sumOverflow else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
            length = sum
        }
        guard length <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        return length
    }

    mutating func finishHeaders(bodyStart start: Int) throws(StompFrameError) {
        bodyStart = start
        scanIndex = start
        guard let contentLength else { return }
        // Header bytes, body and NUL; written as a subtraction so huge limits cannot overflow.
        let headerBytes = start - frameStart
        if contentLength > limits.maxFrameBytes - headerBytes - 1 {
            throw .frameTooLarge(limit: limits.maxFrameBytes)
        }
    }

    /// The finished frame once its body and NUL are buffered; nil while more bytes are needed.
    mutating func nextBody() throws(StompFrameError) -> StompFrame? {
        if let contentLength {
            let terminator = bodyStart + contentLength
            guard terminator < buffer.count else { return nil }
            guard buffer[terminator] == 0 else { throw .missingNullTerminator }
            return finishFrame(bodyEnd: terminator)
        }
        let bodyBound = Self.adding(bodyStart, limits.maxBodyBytes, 1)
        let frameBound = Self.adding(frameStart, limits.maxFrameBytes)
        let searchEnd = min(buffer.count, bodyBound, frameBound)
        if scanIndex < searchEnd,
           let terminator = ByteSearch.firstIndex(of: 0, in: buffer, range: scanIndex..<searchEnd) {
            return finishFrame(bodyEnd: terminator)
        }
        scanIndex = max(scanIndex, searchEnd)
        if searchEnd == bodyBound { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        if searchEnd == frameBound { throw .frameTooLarge(limit: limits.maxFrameBytes) }
        return nil
    }

    private mutating func finishFrame(bodyEnd: Int) -> StompFrame {
        let frame = StompFrame(command, headers: headers, body: Array(buffer[bodyStart..<bodyEnd]))
        lastHeaderCount = max(8, headers.count)
        headers = StompHeaders()
        frameStart = bodyEnd + 1
        return frame
    }

    /// Sum of indices and limits, saturating so that a limit of `Int.max` means "no limit".
    static func adding(_ values: Int...) -> Int {
        var total = 0
        for value in values {
            let (sum, overflow) = total.addingReportingOverflow(value)
            if overflow { return Int.max }
            total = sum
        }
        return total
    }
}
