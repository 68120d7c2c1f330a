// The log's hashing: CRC32C (Castagnoli), the checksum of every log record, hardware-
// accelerated where the CPU has SSE 4.2, a table otherwise (both give identical results);
// and SHA-256, the hash chain, from OpenSSL's libcrypto (so that no Swift target but
// MusterNet imports OpenSSL).
#ifndef MUSTER_CCHECKSUM_H
#define MUSTER_CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// Continues a CRC32C: pass 0 to start, the previous result to extend.
uint32_t muster_crc32c(uint32_t crc, const void *bytes, size_t count);

/// The table implementation alone (tests compare it with the hardware path).
uint32_t muster_crc32c_table(uint32_t crc, const void *bytes, size_t count);

/// SHA-256 on the calling thread's own digest context (made once per thread, freed when the
/// thread ends; the SHA-256 implementation is fetched once per process). Begin, update any
/// number of times, finish into 32 bytes. Each returns 1 on success, 0 if libcrypto failed.
int muster_sha256_begin(void);
int muster_sha256_update(const void *bytes, size_t count);
int muster_sha256_finish(uint8_t digest[32]);

#endif
