internal import COpenSSL

/// Moves PEM text in and out of OpenSSL through memory BIOs.
enum MemoryBIO {
    /// Runs `body` with a read-only BIO over `text`.
    static func reading<Result>(_ text: String, _ body: (OpaquePointer) throws -> Result) throws -> Result {
        try reading(bytes: Array(text.utf8), body)
    }

    /// Runs `body` with a read-only BIO over `bytes` (PEM text or DER).
    static func reading<Result>(bytes: [UInt8], _ body: (OpaquePointer) throws -> Result) throws -> Result {
        try bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
                throw OpenSSLError.drain("BIO_new_mem_buf")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `body` (an OpenSSL writer named `operation`, returning 1 on success) into a
    /// memory BIO and returns what it wrote.
    static func writing(_ operation: String, _ body: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.drain("BIO_new") }
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw OpenSSLError.drain(operation) }
        var data: UnsafeMutablePointer<CChar>?
        let length = muster_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { throw OpenSSLError.drain("BIO_get_mem_data") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}
