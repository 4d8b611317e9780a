#ifndef PRIVACYLAB_COPENBLAS_SHIM_H
#define PRIVACYLAB_COPENBLAS_SHIM_H
#include <cblas.h>
/* Declared by OpenBLAS; repeated here in case cblas.h of another BLAS lacks them. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);
#endif
