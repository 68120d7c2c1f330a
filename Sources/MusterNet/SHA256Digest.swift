internal import COpenSSL

/// SHA-256 of bytes, as lowercase hex (refused message bodies are recorded by digest only).
public enum SHA256Digest {
    public static func hex(of bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let ok = bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, nil, EVP_sha256(), nil) == 1
            }
        }
        // SHA-256 in libcrypto fails only if the library itself is broken.
        precondition(ok, "OpenSSL SHA-256 failed")
        return digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
