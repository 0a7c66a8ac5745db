import CPKCS11
import Foundation
import Synchronization

/// An Ed25519 key that never leaves its token (a smart card, an HSM, SoftHSM2), used through the
/// token's PKCS#11 module (OASIS PKCS#11 3.0: `CKK_EC_EDWARDS`, `CKM_EDDSA`). Its signatures are the
/// same bytes a key file's would be (RFC 8032). Nothing of the private key is ever in this
/// process: the token signs; the PIN is held in locked memory only while logging in.
///
/// `@unchecked Sendable`: every field is `let`; a signature is made under `lock` (a PKCS#11
/// session runs one operation at a time), on the module's own thread (`PKCS11Module.run`).
public final class TokenKey: Signer, @unchecked Sendable {
    public let publicKey: PublicKey
    public let uri: PKCS11URI
    /// The token's label, for messages.
    public let tokenName: String
    /// Whether a PIN was checked when the key was opened: false when the token needs none, or when
    /// this process was logged in to it already (a server reloading its key), which a token does
    /// not check again.
    public internal(set) var pinChecked = false
    let module: PKCS11Module
    let session: CK_SESSION_HANDLE
    let handle: CK_OBJECT_HANDLE
    /// The public-key object beside it (removed with it by `destroy`).
    let publicHandle: CK_OBJECT_HANDLE
    private let lock = NSLock()

    /// How long one call to a token is waited for before it is given up (a module that hangs):
    /// long enough for a PIN pad or a network HSM, short enough that a script does not wait forever.
    public static let waitSecondsDefault = 30
    /// The message signed and checked when a key is opened: its public key is the private key's.
    static let pairCheckTag = Array("gigaledger/token-pair-check/v1\n".utf8)

    init(
        publicKey: PublicKey, uri: PKCS11URI, tokenName: String, module: PKCS11Module, session: CK_SESSION_HANDLE, handle: CK_OBJECT_HANDLE,
        publicHandle: CK_OBJECT_HANDLE
    ) {
        self.publicKey = publicKey
        self.uri = uri
        self.tokenName = tokenName
        self.module = module
        self.session = session
        self.handle = handle
        self.publicHandle = publicHandle
    }

    /// The session is closed (not waited for: a token that hangs keeps nothing from ending).
    deinit { module.closeSession(session) }

    /// The PIN for a token (its label given), and where it came from, for a message.
    public typealias PINSource = (String) throws -> (pin: SecretBytes, source: String)

    /// Where the module is and how long a call may take.
    public struct Access: Sendable {
        public var modulePath: String
        public var waitSeconds: Int

        public init(modulePath: String, waitSeconds: Int = TokenKey.waitSecondsDefault) {
            self.modulePath = modulePath
            self.waitSeconds = waitSeconds
        }
    }

    /// Opens the private key `uri` names: the one token that matches, logged in once with the PIN
    /// (the URI's `pin-value` or `pin-source`, else `pin(tokenName)`, asked only when the token needs
    /// one and has no PIN pad). Refused before logging in: a locked PIN, or one try left. Refused
    /// after: a key that is not Ed25519, one that can leave the token, one whose stored public key
    /// is not its own (a test signature is checked).
    public static func open(_ uri: PKCS11URI, access: Access, pin: PINSource) throws -> TokenKey {
        let (module, session, tokenName, pinChecked) = try openSession(uri, access: access, readWrite: false, pin: pin)
        do {
            let privateKeys = try module.findObjects(session, token: tokenName, class: CKO_PRIVATE_KEY, label: uri.object, id: uri.id)
            guard let handle = privateKeys.first else {
                let labels = try module.findObjects(session, token: tokenName, class: CKO_PRIVATE_KEY, label: nil, id: nil, max: 20).compactMap {
                    try module.attributes(session, token: tokenName, object: $0, [CK_ATTRIBUTE_TYPE(CKA_LABEL)])[0]
                }.map { shown(String(decoding: $0, as: UTF8.self)) }.sorted()
                throw TokenError.noKey(uri: uri.description, token: tokenName, labels: labels)
            }
            guard privateKeys.count == 1 else { throw TokenError.severalKeys(uri: uri.description, token: tokenName) }
            let key = try makeKey(uri, module: module, session: session, tokenName: tokenName, handle: handle)
            key.pinChecked = pinChecked
            return key
        } catch {
            module.closeSession(session)
            throw error
        }
    }

    /// Makes a new Ed25519 key pair on the token `uri` names, labelled with its `object` (and its
    /// `id`, else 8 random bytes): the private half sensitive and not extractable, made on the token
    /// (both read back and checked), the public half stored beside it. Refuses a name in use.
    public static func generate(_ uri: PKCS11URI, access: Access, pin: PINSource) throws -> TokenKey {
        let (module, session, tokenName, pinChecked) = try openSession(uri, access: access, readWrite: true, pin: pin)
        do {
            // Neither its label nor its ID may be another key's: either would make that key ambiguous.
            let label = uri.object ?? "gigaledger"
            for objectClass in [CKO_PRIVATE_KEY, CKO_PUBLIC_KEY] {
                guard try module.findObjects(session, token: tokenName, class: objectClass, label: label, id: nil).isEmpty,
                    try uri.id.map({ try module.findObjects(session, token: tokenName, class: objectClass, label: nil, id: $0).isEmpty }) ?? true
                else { throw TokenError.keyExists(uri: uri.description, token: tokenName) }
            }
            let id = uri.id ?? Sodium.randomBytes(8)
            let (publicHandle, handle) = try module.generatePair(session, token: tokenName, label: Array(label.utf8), id: id)
            // Another process may have made one under the same label meanwhile: the later goes.
            guard try module.findObjects(session, token: tokenName, class: CKO_PRIVATE_KEY, label: label, id: nil).count == 1 else {
                module.destroy(session, token: tokenName, [handle, publicHandle])
                throw TokenError.removedAfterFailure(uri: uri.description, token: tokenName)
            }
            var named = uri
            named.object = label
            named.id = id
            do {
                let key = try makeKey(named, module: module, session: session, tokenName: tokenName, handle: handle)
                key.pinChecked = pinChecked
                return key
            } catch {
                module.destroy(session, token: tokenName, [handle, publicHandle])
                throw error
            }
        } catch {
            module.closeSession(session)
            throw error
        }
    }

    /// Removes the key pair from its token (a key just made whose public file could not be written).
    public func destroy() {
        lock.lock()
        defer { lock.unlock() }
        module.destroy(session, token: tokenName, [handle, publicHandle])
    }

    /// A token's label as messages show it: quoted when it holds anything but printable characters.
    static func shown(_ label: String) -> String {
        label.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && !$0.properties.isWhitespace }) && !label.contains("\"")
            ? label : InputError.quoted(label)
    }

    /// The Ed25519 signature of `message`, made by the token and checked under its public key
    /// (a faulty token is said to be one, never taken for a faulty ledger).
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        let signature = try module.sign(session, token: tokenName, key: handle, message: message)
        guard publicKey.verify(signature: signature, message: message) else { throw TokenError.badSignature(uri: uri.description) }
        return signature
    }

    private static func openSession(
        _ uri: PKCS11URI, access: Access, readWrite: Bool, pin: PINSource
    ) throws -> (PKCS11Module, CK_SESSION_HANDLE, String, Bool) {
        let module = try PKCS11Module.load(path: uri.modulePath ?? access.modulePath, waitSeconds: access.waitSeconds)
        let (slot, info) = try module.slot(matching: uri)
        let tokenName = shown(PKCS11Module.text(info.label))
        let session = try module.openSession(slot, token: tokenName, readWrite: readWrite)
        do {
            let pinChecked = try logIn(uri, module: module, session: session, tokenName: tokenName, flags: info.flags, pin: pin)
            return (module, session, tokenName, pinChecked)
        } catch {
            module.closeSession(session)
            throw error
        }
    }

    private static func logIn(
        _ uri: PKCS11URI, module: PKCS11Module, session: CK_SESSION_HANDLE, tokenName: String, flags: CK_FLAGS, pin: PINSource
    ) throws -> Bool {
        if flags & CK_FLAGS(CKF_LOGIN_REQUIRED) != 0 {
            if flags & CK_FLAGS(CKF_USER_PIN_LOCKED) != 0 { throw TokenError.pinLocked(token: tokenName) }
            if flags & CK_FLAGS(CKF_USER_PIN_FINAL_TRY) != 0 { throw TokenError.pinFinalTry(token: tokenName) }
            if flags & CK_FLAGS(CKF_PROTECTED_AUTHENTICATION_PATH) != 0 {
                return try module.login(session, token: tokenName, pin: nil)
            } else {
                let secret: SecretBytes, source: String
                if let value = uri.pinValue {
                    var bytes = Array(value.utf8)
                    (secret, source) = (SecretBytes(taking: &bytes), "the URI's pin-value")
                } else if let file = uri.pinSource {
                    (secret, source) = (try KeyFiles.readPassphrase(path: file), "the URI's pin-source \(file)")
                } else {
                    (secret, source) = try pin(tokenName)
                }
                guard !secret.hasControlBytes else { throw TokenError.pinHasControls(token: tokenName, source: source) }
                return try module.login(session, token: tokenName, pin: secret, source: source)
            }
        }
        return false
    }

    private static func makeKey(
        _ uri: PKCS11URI, module: PKCS11Module, session: CK_SESSION_HANDLE, tokenName: String, handle: CK_OBJECT_HANDLE
    ) throws -> TokenKey {
        let attributes = try module.attributes(
            session, token: tokenName, object: handle,
            [CKA_KEY_TYPE, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_ID, CKA_LABEL].map {
                CK_ATTRIBUTE_TYPE($0)
            })
        let keyType = attributes[0].map { PKCS11Module.ulong($0) } ?? 0
        guard keyType == CK_KEY_TYPE(CKK_EC_EDWARDS) else { throw TokenError.wrongKeyType(uri: uri.description, type: UInt(keyType)) }
        // Sensitive and not extractable now, and always so: a key imported into the token was once outside it.
        guard attributes[1] == [1], attributes[2] == [0], attributes[3] == [1], attributes[4] == [1] else {
            throw TokenError.extractable(uri: uri.description)
        }
        // The public half: the public-key object with the same CKA_ID (else the same label).
        let id = attributes[5].flatMap { $0.isEmpty ? nil : $0 }
        let publicObjects = try module.findObjects(
            session, token: tokenName, class: CKO_PUBLIC_KEY, label: id == nil ? attributes[6].map { String(decoding: $0, as: UTF8.self) } : nil,
            id: id)
        guard publicObjects.count == 1,
            let point = try module.attributes(session, token: tokenName, object: publicObjects[0], [CK_ATTRIBUTE_TYPE(CKA_EC_POINT)])[0],
            let bytes = PKCS11Module.edwardsPoint(point)
        else { throw TokenError.noPublicKey(uri: uri.description) }
        let key = TokenKey(
            publicKey: PublicKey(bytes: bytes), uri: uri, tokenName: tokenName, module: module, session: session, handle: handle,
            publicHandle: publicObjects[0])
        let challenge = pairCheckTag + Sodium.randomBytes(32)
        do { _ = try key.sign(challenge) } catch TokenError.badSignature { throw TokenError.pairMismatch(uri: uri.description) }
        return key
    }
}

/// A PKCS#11 module, loaded once per process (`dlopen`) and initialised for a process with
/// threads (`CKF_OS_LOCKING_OK`). Every call into it runs on its own thread and is waited for at
/// most `waitSeconds`: a module that hangs is given up (`TokenError.hung`), and so is every later
/// call, so a command fails with one line instead of waiting forever.
///
/// `@unchecked Sendable`: `functions` never changes after `load`; `hungIn` is under its Mutex.
final class PKCS11Module: @unchecked Sendable {
    let path: String
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    let waitSeconds: Int
    private let queue = DispatchQueue(label: "gigaledger.pkcs11")
    private let hungIn = Mutex<String?>(nil)

    private static let loaded = Mutex<[String: PKCS11Module]>([:])

    private init(path: String, functions: UnsafeMutablePointer<CK_FUNCTION_LIST>, waitSeconds: Int) {
        self.path = path
        self.functions = functions
        self.waitSeconds = waitSeconds
    }

    static func load(path: String, waitSeconds: Int) throws -> PKCS11Module {
        if let module = loaded.withLock({ $0[path] }) { return module }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw TokenError.moduleUnloadable(path: path, isFolder.boolValue ? "it is a folder" : "no such file")
        }
        // Loading runs the module's own code (its constructors, C_GetFunctionList): bounded too.
        let loading = CallOutcome<Result<UnsafeMutablePointer<CK_FUNCTION_LIST>, TokenError>>()
        Thread {
            loading.value = Self.functionList(path)
            loading.done.signal()
        }.start()
        guard loading.done.wait(timeout: .now() + .seconds(waitSeconds)) == .success, let answer = loading.value else {
            throw TokenError.hung(function: "C_GetFunctionList", seconds: waitSeconds, token: "module \(path)")
        }
        let module = PKCS11Module(path: path, functions: try answer.get(), waitSeconds: waitSeconds)
        let initialized: CK_RV = try module.run("C_Initialize", token: "module \(path)") { f in
            var arguments = CK_C_INITIALIZE_ARGS()
            arguments.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
            return f.C_Initialize(&arguments)
        }
        guard initialized == CKR_OK || initialized == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            throw TokenError.moduleUnloadable(path: path, "C_Initialize failed with \(TokenError.name(of: initialized))")
        }
        loaded.withLock { $0[path] = module }
        return module
    }

    private static func functionList(_ path: String) -> Result<UnsafeMutablePointer<CK_FUNCTION_LIST>, TokenError> {
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(.moduleUnloadable(path: path, dlerror().map { String(cString: $0) } ?? "dlopen failed"))
        }
        guard let symbol = dlsym(library, "C_GetFunctionList") else {
            return .failure(.moduleUnloadable(path: path, "it has no C_GetFunctionList: it is not a PKCS#11 module"))
        }
        typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = unsafeBitCast(symbol, to: GetFunctionList.self)(&list)
        guard rv == CKR_OK, let list else {
            return .failure(.moduleUnloadable(path: path, "C_GetFunctionList failed with \(TokenError.name(of: rv))"))
        }
        return .success(list)
    }

    /// `body` on the module's thread, waited for at most `waitSeconds`. A call not answered in
    /// time marks the module: calls after it fail at once until it returns (a token that stalls
    /// once is used again after; one that hangs is not waited for again).
    func run<T>(_ function: String, token: String, _ body: @escaping (CK_FUNCTION_LIST) -> T) throws(TokenError) -> T {
        if let stuck = hungIn.withLock({ $0 }) { throw .hung(function: stuck, seconds: waitSeconds, token: token) }
        let outcome = CallOutcome<T>()
        nonisolated(unsafe) let work = body
        nonisolated(unsafe) let functions = self.functions
        queue.async { [self] in
            outcome.value = work(functions.pointee)
            outcome.done.signal()
            self.hungIn.withLock { $0 = nil }
        }
        guard outcome.done.wait(timeout: .now() + .seconds(waitSeconds)) == .success, let value = outcome.value else {
            hungIn.withLock { $0 = function }
            throw .hung(function: function, seconds: waitSeconds, token: token)
        }
        return value
    }

    /// `body`'s return value must be CKR_OK; its result otherwise.
    func call<T>(_ function: String, token: String, _ body: @escaping (CK_FUNCTION_LIST) -> (CK_RV, T)) throws(TokenError) -> T {
        let (rv, value) = try run(function, token: token, body)
        guard rv == CKR_OK else { throw .call(function: function, code: UInt(rv), token: token) }
        return value
    }

    /// The one slot whose token matches the URI's token attributes.
    func slot(matching uri: PKCS11URI) throws -> (CK_SLOT_ID, CK_TOKEN_INFO) {
        let slots: [CK_SLOT_ID] = try call("C_GetSlotList", token: "module \(path)") { f in
            var count: CK_ULONG = 0
            var rv = f.C_GetSlotList(CK_BBOOL(CK_TRUE), nil, &count)
            guard rv == CKR_OK else { return (rv, []) }
            var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
            rv = f.C_GetSlotList(CK_BBOOL(CK_TRUE), &slots, &count)
            return (rv, Array(slots.prefix(Int(count))))
        }
        var matches = [(CK_SLOT_ID, CK_TOKEN_INFO)](), present = [String]()
        for slot in slots {
            let info: CK_TOKEN_INFO = try call("C_GetTokenInfo", token: "module \(path)") { f in
                var info = CK_TOKEN_INFO()
                return (f.C_GetTokenInfo(slot, &info), info)
            }
            // A slot without an initialised token (SoftHSM2 always offers one) holds no key.
            guard info.flags & CK_FLAGS(CKF_TOKEN_INITIALIZED) != 0 else { continue }
            present.append(TokenKey.shown(Self.text(info.label)))
            if let token = uri.token, Self.text(info.label) != token { continue }
            if let manufacturer = uri.manufacturer, Self.text(info.manufacturerID) != manufacturer { continue }
            if let model = uri.model, Self.text(info.model) != model { continue }
            if let serial = uri.serial, Self.text(info.serialNumber) != serial { continue }
            if let id = uri.slotID, id != slot { continue }
            matches.append((slot, info))
        }
        guard let match = matches.first else { throw TokenError.noToken(uri: uri.description, module: path, present: present) }
        guard matches.count == 1 else {
            throw TokenError.severalTokens(
                uri: uri.description,
                present: matches.map { "\(TokenKey.shown(Self.text($0.1.label))) serial \(TokenKey.shown(Self.text($0.1.serialNumber)))" })
        }
        return match
    }

    func openSession(_ slot: CK_SLOT_ID, token: String, readWrite: Bool) throws -> CK_SESSION_HANDLE {
        try call("C_OpenSession", token: token) { f in
            var session: CK_SESSION_HANDLE = 0
            let flags = CK_FLAGS(CKF_SERIAL_SESSION) | (readWrite ? CK_FLAGS(CKF_RW_SESSION) : 0)
            return (f.C_OpenSession(slot, flags, nil, nil, &session), session)
        }
    }

    /// One `C_Login` as the user, never repeated: a wrong PIN is said, not tried again.
    /// Whether the PIN was checked: false when the process was logged in already.
    @discardableResult
    func login(_ session: CK_SESSION_HANDLE, token: String, pin: SecretBytes?, source: String = "the token's PIN pad") throws -> Bool {
        let rv: CK_RV = try run("C_Login", token: token) { f in
            guard let pin else { return f.C_Login(session, CK_USER_TYPE(CKU_USER), nil, 0) }
            return pin.withBytes { bytes in
                f.C_Login(
                    session, CK_USER_TYPE(CKU_USER), UnsafeMutablePointer(mutating: bytes.bindMemory(to: CK_UTF8CHAR.self).baseAddress),
                    CK_ULONG(pin.count))
            }
        }
        switch rv {
        case CKR_OK: return true
        case CKR_USER_ALREADY_LOGGED_IN: return false
        case CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE: throw TokenError.wrongPIN(token: token, source: source)
        case CKR_PIN_LOCKED: throw TokenError.pinLocked(token: token)
        default: throw TokenError.call(function: "C_Login", code: UInt(rv), token: token)
        }
    }

    /// The objects of `class` with this label and ID (those given), at most `max`.
    func findObjects(
        _ session: CK_SESSION_HANDLE, token: String, class objectClass: UInt, label: String?, id: [UInt8]?, max: Int = 2
    ) throws -> [CK_OBJECT_HANDLE] {
        let template = AttributeTemplate()
        template.add(CKA_CLASS, ulong: CK_ULONG(objectClass))
        if let label { template.add(CKA_LABEL, bytes: Array(label.utf8)) }
        if let id { template.add(CKA_ID, bytes: id) }
        return try call("C_FindObjects", token: token) { f in
            var rv = f.C_FindObjectsInit(session, &template.attributes, CK_ULONG(template.attributes.count))
            guard rv == CKR_OK else { return (rv, []) }
            var found = [CK_OBJECT_HANDLE](repeating: 0, count: max)
            var count: CK_ULONG = 0
            rv = f.C_FindObjects(session, &found, CK_ULONG(max), &count)
            _ = f.C_FindObjectsFinal(session)
            return (rv, Array(found.prefix(Int(count))))
        }
    }

    /// The values of `types` on `object`; nil for one the object does not have or will not show.
    func attributes(_ session: CK_SESSION_HANDLE, token: String, object: CK_OBJECT_HANDLE, _ types: [CK_ATTRIBUTE_TYPE]) throws -> [[UInt8]?] {
        try run("C_GetAttributeValue", token: token) { f in
            types.map { type -> [UInt8]? in
                var attribute = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
                guard f.C_GetAttributeValue(session, object, &attribute, 1) == CKR_OK,
                    attribute.ulValueLen != CK_ULONG.max /* CK_UNAVAILABLE_INFORMATION */,
                    attribute.ulValueLen <= 4096
                else { return nil }
                var value = [UInt8](repeating: 0, count: Int(attribute.ulValueLen))
                let rv = value.withUnsafeMutableBytes { buffer in
                    attribute.pValue = buffer.baseAddress
                    return f.C_GetAttributeValue(session, object, &attribute, 1)
                }
                return rv == CKR_OK ? Array(value.prefix(Int(attribute.ulValueLen))) : nil
            }
        }
    }

    /// A new pair on the token: (public, private).
    func generatePair(_ session: CK_SESSION_HANDLE, token: String, label: [UInt8], id: [UInt8]) throws -> (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
        let publicTemplate = AttributeTemplate(), privateTemplate = AttributeTemplate()
        // The curve by name, a DER PrintableString "edwards25519" (PKCS#11 3.0 section 2.3.10).
        publicTemplate.add(CKA_EC_PARAMS, bytes: [0x13, 0x0C] + Array("edwards25519".utf8))
        for template in [publicTemplate, privateTemplate] {
            template.add(CKA_TOKEN, bool: true)
            template.add(CKA_LABEL, bytes: label)
            template.add(CKA_ID, bytes: id)
        }
        publicTemplate.add(CKA_VERIFY, bool: true)
        privateTemplate.add(CKA_PRIVATE, bool: true)
        privateTemplate.add(CKA_SIGN, bool: true)
        privateTemplate.add(CKA_SENSITIVE, bool: true)
        privateTemplate.add(CKA_EXTRACTABLE, bool: false)
        return try call("C_GenerateKeyPair", token: token) { f in
            var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_EC_EDWARDS_KEY_PAIR_GEN), pParameter: nil, ulParameterLen: 0)
            var publicKey: CK_OBJECT_HANDLE = 0, privateKey: CK_OBJECT_HANDLE = 0
            let rv = f.C_GenerateKeyPair(
                session, &mechanism, &publicTemplate.attributes, CK_ULONG(publicTemplate.attributes.count), &privateTemplate.attributes,
                CK_ULONG(privateTemplate.attributes.count), &publicKey, &privateKey)
            return (rv, (publicKey, privateKey))
        }
    }

    /// Removes objects; what cannot be removed is left (the caller is failing already).
    func destroy(_ session: CK_SESSION_HANDLE, token: String, _ objects: [CK_OBJECT_HANDLE]) {
        _ = try? run("C_DestroyObject", token: token) { f in
            for object in objects { _ = f.C_DestroyObject(session, object) }
        }
    }

    /// Closes a session, without waiting for the module's answer.
    /// Closes a session and waits for it (bounded like every call): a command that exits right
    /// after, its error said, must not leave the call running on the module's thread while the
    /// module's own exit handlers tear it down (a crash, SIGSEGV, seen on a loaded machine).
    func closeSession(_ session: CK_SESSION_HANDLE) {
        _ = try? run("C_CloseSession", token: "module \(path)") { f in f.C_CloseSession(session) }
    }

    func sign(_ session: CK_SESSION_HANDLE, token: String, key: CK_OBJECT_HANDLE, message: [UInt8]) throws -> [UInt8] {
        try call("C_Sign", token: token) { f in
            var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_EDDSA), pParameter: nil, ulParameterLen: 0)
            var rv = f.C_SignInit(session, &mechanism, key)
            guard rv == CKR_OK else { return (rv, []) }
            var signature = [UInt8](repeating: 0, count: 64)
            var length = CK_ULONG(signature.count)
            var input = message
            rv = f.C_Sign(session, &input, CK_ULONG(input.count), &signature, &length)
            guard rv == CKR_OK else { return (rv, []) }
            return length == 64 ? (rv, signature) : (CK_RV(CKR_FUNCTION_FAILED), [])
        }
    }

    /// A fixed-width, blank-padded field of a PKCS#11 structure as text.
    static func text<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: CharacterSet(charactersIn: " \u{0}"))
    }

    static func ulong(_ bytes: [UInt8]) -> CK_ULONG {
        guard bytes.count == MemoryLayout<CK_ULONG>.size else { return CK_ULONG.max }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
    }

    /// The 32 bytes of an Ed25519 public key from CKA_EC_POINT: a DER OCTET STRING (04 20 ...), or
    /// the raw bytes some modules give.
    static func edwardsPoint(_ value: [UInt8]) -> [UInt8]? {
        if value.count == 32 { return value }
        if value.count == 34, value[0] == 0x04, value[1] == 0x20 { return Array(value[2...]) }
        return nil
    }
}

/// What a call on the module's thread returned, once `done` is signalled. `@unchecked Sendable`:
/// `value` is written before the signal and read only after it.
final class CallOutcome<T>: @unchecked Sendable {
    var value: T?
    let done = DispatchSemaphore(value: 0)
}

/// A PKCS#11 attribute template whose values live as long as it does.
final class AttributeTemplate: @unchecked Sendable {
    var attributes = [CK_ATTRIBUTE]()
    private var buffers = [UnsafeMutableRawPointer]()

    func add(_ type: some BinaryInteger, bytes: [UInt8]) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        buffers.append(buffer)
        attributes.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: buffer, ulValueLen: CK_ULONG(bytes.count)))
    }

    func add(_ type: some BinaryInteger, bool: Bool) { add(type, bytes: [bool ? 1 : 0]) }

    func add(_ type: some BinaryInteger, ulong: CK_ULONG) { add(type, bytes: withUnsafeBytes(of: ulong) { Array($0) }) }

    deinit { buffers.forEach { $0.deallocate() } }
}
