// The declaration in include/CFuzzerDriver.h is the whole of this target; libFuzzer defines it.
#include "CFuzzerDriver.h"
