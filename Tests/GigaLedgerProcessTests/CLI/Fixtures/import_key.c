/* For tests: puts an Ed25519 key pair made outside a token onto it (C_CreateObject), marked
   sensitive and not extractable, as an administrator importing a key file would. Such a key was
   once outside the token (CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE false), which GigaLedger
   refuses. usage: import_key MODULE TOKEN_LABEL PIN KEY_LABEL SEED_HEX64 PUBLIC_HEX64 */
#include <p11-kit-1/p11-kit/pkcs11.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void unhex(const char *text, unsigned char *out, int count) {
    for (int i = 0; i < count; i++) sscanf(text + 2 * i, "%2hhx", &out[i]);
}

int main(int argc, char **argv) {
    if (argc != 7 || strlen(argv[5]) != 64 || strlen(argv[6]) != 64) return 2;
    void *library = dlopen(argv[1], RTLD_NOW);
    CK_C_GetFunctionList get = library ? (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST_PTR f;
    if (!get || get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK) return 3;
    CK_SLOT_ID slots[16], slot = 0;
    CK_ULONG count = 16;
    int found = 0;
    f->C_GetSlotList(CK_TRUE, slots, &count);
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        char label[33];
        f->C_GetTokenInfo(slots[i], &info);
        memcpy(label, info.label, 32);
        label[32] = 0;
        for (int j = 31; j >= 0 && label[j] == ' '; j--) label[j] = 0;
        if (strcmp(label, argv[2]) == 0) slot = slots[i], found = 1;
    }
    CK_SESSION_HANDLE session;
    if (!found || f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session) != CKR_OK) return 4;
    if (f->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)argv[3], strlen(argv[3])) != CKR_OK) return 5;
    unsigned char seed[32], point[34] = {0x04, 0x20}, id[] = {0x49, 0x4D};
    unhex(argv[5], seed, 32);
    unhex(argv[6], point + 2, 32);
    CK_OBJECT_CLASS privateClass = CKO_PRIVATE_KEY, publicClass = CKO_PUBLIC_KEY;
    CK_KEY_TYPE type = CKK_EC_EDWARDS;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    unsigned char curve[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'};
    CK_ATTRIBUTE privateKey[] = {
        {CKA_CLASS, &privateClass, sizeof privateClass}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_TOKEN, &yes, 1},
        {CKA_PRIVATE, &yes, 1}, {CKA_SIGN, &yes, 1}, {CKA_SENSITIVE, &yes, 1}, {CKA_EXTRACTABLE, &no, 1},
        {CKA_LABEL, argv[4], strlen(argv[4])}, {CKA_ID, id, sizeof id}, {CKA_EC_PARAMS, curve, sizeof curve}, {CKA_VALUE, seed, 32},
    };
    CK_ATTRIBUTE publicKey[] = {
        {CKA_CLASS, &publicClass, sizeof publicClass}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_TOKEN, &yes, 1},
        {CKA_VERIFY, &yes, 1}, {CKA_LABEL, argv[4], strlen(argv[4])}, {CKA_ID, id, sizeof id},
        {CKA_EC_PARAMS, curve, sizeof curve}, {CKA_EC_POINT, point, sizeof point},
    };
    CK_OBJECT_HANDLE object;
    if (f->C_CreateObject(session, privateKey, sizeof privateKey / sizeof privateKey[0], &object) != CKR_OK) return 6;
    if (f->C_CreateObject(session, publicKey, sizeof publicKey / sizeof publicKey[0], &object) != CKR_OK) return 7;
    f->C_Finalize(NULL);
    return 0;
}
