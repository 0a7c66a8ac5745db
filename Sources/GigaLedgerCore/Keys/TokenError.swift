/// What can go wrong with a key on a token: each a key that cannot be used (exit 2), said in one
/// line with what to do. Nothing is written when one is thrown.
public enum TokenError: GigaLedgerError, Equatable {
    public var kind: FailureKind { .unusable }

    case badURI(String, String)
    case noModule(String)
    case moduleUnloadable(path: String, String)
    case call(function: String, code: UInt, token: String)
    case hung(function: String, seconds: Int, token: String)
    case noToken(uri: String, module: String, present: [String])
    case severalTokens(uri: String, present: [String])
    case noKey(uri: String, token: String, labels: [String])
    case severalKeys(uri: String, token: String)
    case keyExists(uri: String, token: String)
    case wrongKeyType(uri: String, type: UInt)
    case extractable(uri: String)
    case noPublicKey(uri: String)
    case pairMismatch(uri: String)
    case wrongPIN(token: String, source: String)
    case pinLocked(token: String)
    case pinFinalTry(token: String)
    case pinNeeded(token: String)
    case pinHasControls(token: String, source: String)
    case badSignature(uri: String)
    case removedAfterFailure(uri: String, token: String)

    public var description: String {
        switch self {
        case .badURI(let uri, let why): return "PKCS#11 URI \(uri): \(why)"
        case .noModule(let uri):
            return
                "no PKCS#11 module for \(uri): give --pkcs11-module PATH, set GIGALEDGER_PKCS11_MODULE, add module-path= to the URI, or install p11-kit's proxy (p11-kit-modules)"
        case .moduleUnloadable(let path, let why): return "PKCS#11 module \(path) cannot be loaded: \(why)"
        case .call(let function, let code, let token):
            return "token \(token): \(function) failed with \(Self.name(of: code)) (0x\(String(code, radix: 16, uppercase: true)))"
        case .hung(let function, let seconds, let token):
            return
                "token \(token) did not answer \(function) within \(seconds) s (GIGALEDGER_PKCS11_SECONDS sets the wait): check the token and its module"
        case .noToken(let uri, let module, let present):
            return "no token of module \(module) matches \(uri)"
                + (present.isEmpty
                    ? " (it shows no token: is it inserted, and is this the module of that token and its configuration?)"
                    : " (tokens present: \(present.joined(separator: ", ")))")
        case .severalTokens(let uri, let present):
            return "several tokens match \(uri) (\(present.joined(separator: ", "))): add token= or serial= to name one"
        case .noKey(let uri, let token, let labels):
            return "token \(token) holds no private key matching \(uri)"
                + (labels.isEmpty ? " (it shows no private key)" : " (its private keys: \(labels.joined(separator: ", ")))")
        case .severalKeys(let uri, let token): return "token \(token) holds several private keys matching \(uri): add id= to name one"
        case .keyExists(let uri, let token):
            return "token \(token) already holds a key matching \(uri); refusing to make another under the same name (choose another object=)"
        case .wrongKeyType(let uri, let type):
            return "the key \(uri) is not an Ed25519 key (CKK_EC_EDWARDS); its type is 0x\(String(type, radix: 16, uppercase: true))"
        case .extractable(let uri):
            return
                "the key \(uri) can be, or once could be, read out of its token (not always sensitive, or once extractable: imported?): a key in hardware must never have left it; make one on the token with gigaledger key generate --pkcs11"
        case .noPublicKey(let uri): return "the token holds no public key beside \(uri) (same id or label): it is needed to know which key signs"
        case .pairMismatch(let uri): return "the public key stored beside \(uri) is not its private key's (a test signature does not verify)"
        case .wrongPIN(let token, let source):
            return "token \(token): wrong PIN (from \(source); tried once, not retried, so the card is not locked by repeated tries)"
        case .pinLocked(let token): return "token \(token): its user PIN is locked; unlock it with the token's administrator (SO PIN) tools"
        case .pinFinalTry(let token):
            return
                "token \(token): one PIN try is left before it locks; refusing to try (a wrong PIN would lock it): check the PIN, or reset the try counter with the token's own tools"
        case .pinNeeded(let token):
            return "token \(token) needs a PIN and none was given: use a terminal, --passphrase-file, or ?pin-source=file:PATH in the URI"
        case .pinHasControls(let token, let source):
            return
                "token \(token): the PIN from \(source) holds a line break or another control character (only one final newline is taken off a file); not tried, so no try of the card is used"
        case .badSignature(let uri):
            return "the token's signature with \(uri) does not verify under its own public key: the token or its module is faulty"
        case .removedAfterFailure(let uri, let token):
            return
                "token \(token): another key matching \(uri) was made at the same time; the one made here was removed again (choose another object=)"
        }
    }

    /// A PKCS#11 return value's name, for the values a user may meet.
    static func name(of code: UInt) -> String {
        let names: [UInt: String] = [
            0x05: "CKR_GENERAL_ERROR", 0x06: "CKR_FUNCTION_FAILED", 0x07: "CKR_ARGUMENTS_BAD", 0x30: "CKR_DEVICE_ERROR",
            0x31: "CKR_DEVICE_MEMORY", 0x32: "CKR_DEVICE_REMOVED", 0x60: "CKR_KEY_HANDLE_INVALID", 0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED",
            0x70: "CKR_MECHANISM_INVALID", 0x82: "CKR_OBJECT_HANDLE_INVALID", 0xB1: "CKR_SESSION_COUNT", 0x90: "CKR_OPERATION_ACTIVE",
            0x91: "CKR_OPERATION_NOT_INITIALIZED",
            0xA0: "CKR_PIN_INCORRECT", 0xA4: "CKR_PIN_LOCKED",
            0xB0: "CKR_SESSION_CLOSED", 0xB3: "CKR_SESSION_HANDLE_INVALID", 0xE0: "CKR_TOKEN_NOT_PRESENT", 0xE1: "CKR_TOKEN_NOT_RECOGNIZED",
            0x101: "CKR_USER_NOT_LOGGED_IN", 0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
        ]
        return names[code] ?? "a PKCS#11 error"
    }
}
