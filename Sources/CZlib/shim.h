#ifndef PRIVACYLAB_CZLIB_SHIM_H
#define PRIVACYLAB_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro over inflateInit2_; Swift does not import function-like macros. */
static inline int privacylab_inflate_init2(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
#endif
