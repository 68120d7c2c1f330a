// CRC32C (Castagnoli), the checksum of every log record. Hardware-accelerated where
// the CPU has SSE 4.2, a table otherwise; both give identical results.
#ifndef MUSTER_CCHECKSUM_H
#define MUSTER_CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// Continues a CRC32C: pass 0 to start, the previous result to extend.
uint32_t muster_crc32c(uint32_t crc, const void *bytes, size_t count);

/// The table implementation alone (tests compare it with the hardware path).
uint32_t muster_crc32c_table(uint32_t crc, const void *bytes, size_t count);

#endif
