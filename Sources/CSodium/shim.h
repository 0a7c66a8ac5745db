#ifndef GIGALEDGER_CSODIUM_SHIM_H
#define GIGALEDGER_CSODIUM_SHIM_H
#include <sodium.h>
#endif
