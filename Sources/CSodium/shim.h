#ifndef GIGALEDGER_CSODIUM_SHIM_H
#define GIGALEDGER_CSODIUM_SHIM_H
#include <sodium.h>
#include <sys/prctl.h>

/* prctl(2) is variadic, which Swift cannot call: PR_SET_DUMPABLE 0 means no core file and no
   ptrace by other users, so a crash never writes a secret key to disk. */
static inline int gigaledger_set_non_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
#endif
