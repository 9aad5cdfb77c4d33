/* CZlib: zlib for Swift. Function-like macros (inflateInit2, deflateInit2) do not import, so
 * typed inline wrappers stand in for them. Only RelayExport imports this module (its tests use
 * the deflate side to make gzip fixtures). */
#ifndef RELAY_CZLIB_SHIM_H
#define RELAY_CZLIB_SHIM_H

#include <zlib.h>

/* inflateInit2 with windowBits 16 + MAX_WBITS: accepts a gzip header and trailer only. */
static inline int relay_inflate_init_gzip(z_streamp strm) {
    return inflateInit2(strm, 16 + MAX_WBITS);
}

/* deflateInit2 writing one gzip member (header + deflate data + CRC-32/size trailer). */
static inline int relay_deflate_init_gzip(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
}

#endif
