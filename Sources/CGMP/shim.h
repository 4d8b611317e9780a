#ifndef PRIVACYLAB_CGMP_SHIM_H
#define PRIVACYLAB_CGMP_SHIM_H
#include <stdio.h>
#include <gmp.h>
/* Function-like macros of gmp.h, as functions Swift can call. */
static inline int privacylab_mpz_sgn(const __mpz_struct *x) { return mpz_sgn(x); }
static inline int privacylab_mpz_odd_p(const __mpz_struct *x) { return mpz_odd_p(x); }
static inline int privacylab_mpz_even_p(const __mpz_struct *x) { return mpz_even_p(x); }
static inline int privacylab_mpz_cmp_ui(const __mpz_struct *x, unsigned long y) { return mpz_cmp_ui(x, y); }
static inline int privacylab_mpz_cmp_si(const __mpz_struct *x, long y) { return mpz_cmp_si(x, y); }
#endif
