import Foundation

/// What can go wrong with a key file or a passphrase. Each case says how to fix it where it can.
public enum KeyError: GigaLedgerError, Equatable {
    /// A key or passphrase that cannot be used (2); a new passphrase too short is input refused (65).
    public var kind: FailureKind {
        switch self {
        case .passphraseTooShort, .passphraseHasControls: return .refused
        default: break
        }
        return .unusable
    }
    case unreadable(path: String, String)
    case tooOpen(path: String, mode: UInt16)
    case passphraseFileTooOpen(path: String, mode: UInt16)
    case passphraseUnreadable(path: String, String)
    case passphraseTooShort(characters: Int)
    case passphraseHasControls
    case publicKeyGiven(path: String)
    case malformed(path: String, String)
    case wrongPassphrase(path: String)
    case passphraseEmpty(source: String)
    case passphraseMismatch
    case passphraseNeeded(path: String)
    case exists(path: String)
    case unwritable(path: String, String)
    case kdfFailed

    public var description: String {
        switch self {
        case .unreadable(let path, let why): return "key file \(path): cannot read: \(why)"
        case .tooOpen(let path, let mode):
            return
                "key file \(path) is accessible by group or others (mode \(String(mode, radix: 8, uppercase: false).leftPadded(to: 4))); refusing to use it. Fix with: chmod 600 \(path)"
        case .passphraseUnreadable(let path, let why): return "passphrase file \(path): cannot read: \(why)"
        case .passphraseFileTooOpen(let path, let mode):
            return
                "passphrase file \(path) is accessible by group or others (mode \(String(mode, radix: 8, uppercase: false).leftPadded(to: 4))); refusing to use it. Fix with: chmod 600 \(path)"
        case .passphraseTooShort(let characters):
            return
                "the passphrase has \(characters) characters; a new key needs at least \(KeyFiles.passphraseCharactersMin) (a phrase of several words is easiest to remember)"
        case .passphraseHasControls:
            return
                "the passphrase holds a line break or another control character (only one final newline is taken off a passphrase file): it could not be typed at a terminal"
        case .publicKeyGiven(let path): return "key file \(path) is a public key: signing needs the secret key file (NAME.key, made beside NAME.pub)"
        case .malformed(let path, let why): return "key file \(path): \(why)"
        case .wrongPassphrase(let path): return "key file \(path): wrong passphrase (or the file was changed)"
        case .passphraseEmpty(let source): return "passphrase from \(source) is empty"
        case .passphraseMismatch: return "passphrases do not match"
        case .passphraseNeeded(let path):
            return "key file \(path) is encrypted and no passphrase was given: use a terminal, --passphrase-file or GIGALEDGER_PASSPHRASE_FILE"
        case .exists(let path): return "\(path) already exists; refusing to overwrite it"
        case .unwritable(let path, let why): return "cannot write \(path): \(why)"
        case .kdfFailed: return "Argon2id key derivation failed (not enough memory?)"
        }
    }
}

extension String {
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
