#ifndef GIGALEDGER_CPKCS11_SHIM_H
#define GIGALEDGER_CPKCS11_SHIM_H
/* The PKCS#11 types and constants (OASIS PKCS#11 2.40 and 3.0: CKK_EC_EDWARDS, CKM_EDDSA) from
   p11-kit's header (Debian: libp11-kit-dev), and dlopen to load a token's module at run time.
   Nothing is linked: the binary needs no PKCS#11 library until a key names one. */
#include <p11-kit-1/p11-kit/pkcs11.h>
#include <dlfcn.h>
#endif
