/* A PKCS#11 module for tests that stands in front of a real one (SoftHSM2) and injects the faults a
   real token shows and SoftHSM2 cannot: a user PIN reported locked or on its last try, a token
   removed after N signatures, a module that stops answering after N signatures. The crypto stays
   the real module's. Set by the environment:
     FAULT_PKCS11_REAL  the real module's path (required)
     FAULT_PKCS11       "", "locked", "final-try", "remove-after=N", "hang-after=N" or "corrupt-after=N"
                        (signatures after the Nth have a bit flipped: a faulty token)
     FAULT_PKCS11_LOG   a file to which each C_Login call appends a line */
#include <p11-kit-1/p11-kit/pkcs11.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST ours;
static unsigned long signatures;
static int removed;

static const char *fault(void) {
    const char *value = getenv("FAULT_PKCS11");
    return value ? value : "";
}

static CK_RV fault_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
    CK_RV rv = real->C_GetTokenInfo(slot, info);
    if (rv == CKR_OK && strcmp(fault(), "locked") == 0) info->flags |= CKF_USER_PIN_LOCKED;
    if (rv == CKR_OK && strcmp(fault(), "final-try") == 0) info->flags |= CKF_USER_PIN_FINAL_TRY;
    return rv;
}

static CK_RV fault_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG length) {
    const char *log = getenv("FAULT_PKCS11_LOG");
    if (log) {
        FILE *file = fopen(log, "a");
        if (file) {
            fputs("C_Login\n", file);
            fclose(file);
        }
    }
    return real->C_Login(session, user, pin, length);
}

static CK_RV fault_Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG length, CK_BYTE_PTR signature, CK_ULONG_PTR signatureLength) {
    const char *kind = fault();
    signatures++;
    if (strncmp(kind, "remove-after=", 13) == 0 && signatures > strtoul(kind + 13, NULL, 10)) removed = 1;
    if (removed) return CKR_DEVICE_REMOVED;
    if (strncmp(kind, "hang-after=", 11) == 0 && signatures > strtoul(kind + 11, NULL, 10)) {
        for (;;) sleep(1000);
    }
    CK_RV rv = real->C_Sign(session, data, length, signature, signatureLength);
    if (rv == CKR_OK && signature && strncmp(kind, "corrupt-after=", 14) == 0 && signatures > strtoul(kind + 14, NULL, 10)) signature[0] ^= 1;
    return rv;
}

/* A removed token answers nothing any more. */
static CK_RV fault_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
    return removed ? CKR_DEVICE_REMOVED : real->C_SignInit(session, mechanism, key);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
    if (!real) {
        const char *path = getenv("FAULT_PKCS11_REAL");
        void *library = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        if (!library) return CKR_GENERAL_ERROR;
        CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList");
        if (!get || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
        ours = *real;
        ours.C_GetTokenInfo = fault_GetTokenInfo;
        ours.C_Login = fault_Login;
        ours.C_Sign = fault_Sign;
        ours.C_SignInit = fault_SignInit;
    }
    *list = &ours;
    return CKR_OK;
}
