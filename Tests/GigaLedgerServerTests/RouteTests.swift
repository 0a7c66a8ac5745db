import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import Testing

@testable import GigaLedgerClient
@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerServer
@testable import GigaLedgerStore

/// The server's routes in process (no port, no process): what each answers, and one JSON error
/// for every refusal, the server serving on after it.
@Suite struct RouteTests {
    /// An office's entry: recorded now (201) with a head answer that proves it in a checkpoint the
    /// client checks as `--server` does; the same again is recorded before (200); one signed after a
    /// stale head is a conflict (409) carrying the new head, "busy, retry" for a client that gives up.
    @Test func submissionsAreRecordedOnceAndConflictsCarryTheHead() async throws {
        let fixture = try RouteFixture()
        let head = try fixture.head()
        try await fixture.app().test(.router) { client in
            // Signed now: `recorded_at` within the server's 300 s of its clock, however long the test waited to run.
            let entry = try fixture.payment("R-1", after: head)
            let recorded = try await client.execute(uri: "/ledger/v1/entries?known=0", method: .post, body: RouteFixture.submission([entry]))
            #expect(recorded.status == .created, "\(recorded.text)")
            let answer = try recorded.object()
            #expect(answer["recorded"] == .string("now"))
            guard case .object(let proof)? = answer["proof"] else { throw RouteTestFailure("no proof: \(recorded.text)") }
            // The proof checks as a client checks it: signed by the log key the authority enrolled, the entry in it.
            let trust = HeadTrust(
                pinned: fixture.authority.publicKey, known: TrustedAuthorities(path: nil), kept: KeptCheckpoints(directory: nil),
                evidenceDirectory: fixture.folder.path)
            let checked = try trust.check(try LedgerClient.head(proof), previous: nil, server: "in-process")
            #expect(checked.head == entry && checked.checkpoint.size == entry.seq)
            #expect(try fixture.head() == entry)

            let again = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([entry]))
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.object()["recorded"] == .string("before"))

            let stale = try fixture.payment("R-2", after: head)
            let conflict = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([stale]))
            #expect(conflict.status == .conflict, "\(conflict.text)")
            let error = try conflict.error()
            #expect(error["kind"] == .string("unusable") && error["exit_code"] == .integer(2), "\(conflict.text)")
            #expect((try conflict.object())["head"] == EntryWire.json(entry))
        }
    }

    /// Bad requests of every kind: one JSON error each with its status and the CLI's message,
    /// nothing written; and the server answers the next request.
    @Test(
        arguments: [
            ("POST", "/ledger/v1/entries", "{\"entries\": [", 400, "is not JSON"),
            ("POST", "/ledger/v1/entries", "{}", 400, "is missing, empty or not an array"),
            ("POST", "/ledger/v1/entries", "{\"entries\":[],\"x\":1}", 400, "is not a field of a submission"),
            ("POST", "/ledger/v1/entries", "{\"entries\":[{\"hash\":\"zz\"}]}", 400, "entries[0]"),
            ("POST", "/ledger/v1/entries?known=x", "{}", 400, "query parameter known"),
            ("GET", "/no/such/thing", "", 404, "/no/such/thing"),
            ("DELETE", "/ledger/v1/entries", "", 404, "DELETE /ledger/v1/entries"),
            ("GET", "/ledger/v1/proof/inclusion?seq=x&size=2", "", 400, "query parameter seq"),
            ("GET", "/ledger/v1/entries?from=1&count=2&from=5", "", 400, "query parameter from is given 2 times"),
            ("GET", "/ledger/v1/proof/inclusion?seq=1&size=9223372036854775807", "", 422, "fewer than the size"),
            ("GET", "/ledger/v1/proof/consistency?from=1&to=9223372036854775807", "", 404, "fewer than"),
            ("GET", "/ledger/v1/entries/999", "", 404, "there is no entry 999"),
            ("GET", "/ledger/v1/keys/0123456789ABCDEF", "", 404, "is not enrolled"),
            ("GET", "/tile/0/x001", "", 404, "not a tile path"),
            ("POST", "/ledger/v1/turn", "", 503, "gives no turns"),
            ("POST", "/ledger/v1/checkpoints", "not a note", 422, "not a signed C2SP checkpoint"),
            ("POST", "/ledger/v1/cosignatures", "{\"size\":1}", 400, "cosignature.key_id"),
        ] as [(String, String, String, Int, String)])
    func badRequestsGetOneJSONError(method: String, uri: String, body: String, status: Int, message: String) async throws {
        let fixture = try RouteFixture()
        let before = try fixture.head()
        try await fixture.app().test(.router) { client in
            let answer = try await client.execute(uri: uri, method: HTTPRequest.Method(method)!, body: body.isEmpty ? nil : ByteBuffer(string: body))
            #expect(answer.status.code == status, "\(method) \(uri): \(answer.status) \(answer.text)")
            #expect(answer.headers[.contentType] == "application/json")
            let error = try answer.error()
            guard case .string(let text)? = error["message"] else { throw RouteTestFailure("no message: \(answer.text)") }
            #expect(text.contains(message), "\(method) \(uri): \(text)")
            #expect(!text.contains("\n"))
            let kind = status >= 500 || status == 429 ? "unusable" : "refused"
            #expect(error["kind"] == .string(kind), "\(answer.text)")
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
        #expect(try fixture.head() == before, "nothing written")
    }

    /// A submission is read as one JSON object though its entries are read apart, on every core:
    /// a flag given as an array (its elements not JSON, or `[true]`) is refused as a flag, not
    /// taken for "not given"; JSON that is not an object is named so; a bad entry is named by its
    /// index. Nothing is written.
    @Test func aSubmissionIsReadWholeThoughItsEntriesAreReadApart() async throws {
        let fixture = try RouteFixture()
        let head = try fixture.head()
        try await fixture.app().test(.router) { client in
            let entry = try fixture.payment("R-1", after: head)
            let good = String(buffer: RouteFixture.submission([entry]))
            let cases: [(String, String)] = [
                (good.replacingOccurrences(of: "{\"entries\"", with: "{\"future\":[],\"entries\""), "future"),
                (good.replacingOccurrences(of: "{\"entries\"", with: "{\"allow_duplicate\":[true],\"entries\""), "allow_duplicate"),
                (good.replacingOccurrences(of: "{\"entries\"", with: "{\"future\":[\u{1}{],\"entries\""), "not JSON"),
                ("[" + good + "]", "not a JSON object"),
                (good.replacingOccurrences(of: "]}", with: ",{\"seq\":\"x\"}]}"), "entries[1]"),
                (good.replacingOccurrences(of: "]}", with: ",{\"seq\":1,}]}"), "entries[1]"),
            ]
            for (body, message) in cases {
                #expect(body != good)
                let answer = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: ByteBuffer(string: body))
                #expect(answer.status == .badRequest, "\(body.prefix(60)): \(answer.text)")
                guard case .string(let text)? = try answer.error()["message"] else { throw RouteTestFailure("no message: \(answer.text)") }
                #expect(text.contains(message), "\(body.prefix(60)): \(text)")
            }
        }
        #expect(try fixture.head() == head, "nothing written")
    }

    /// A wrong signature, a `recorded_at` far from the server's clock, an officer out of scope:
    /// refused by the rules of a local append (422), each named; a stored entry resubmitted with
    /// another signature is not taken for a retry of it.
    @Test func theRulesOfALocalAppendRefuseWhatTheyRefuse() async throws {
        let fixture = try RouteFixture()
        let head = try fixture.head()
        try await fixture.app().test(.router) { client in
            let good = try fixture.payment("R-1", after: head)
            let forged = Entry(
                seq: good.seq, type: good.type, body: good.body, prevHash: good.prevHash, hash: good.hash, signer: good.signer,
                signature: [UInt8](repeating: 0, count: 64), recordedAt: good.recordedAt)
            let skewed = try fixture.payment("R-2", after: head, recordedAt: "2026-01-01T00:00:00Z")
            let outOfScope = try Entry.make(
                body: EntryBody(
                    seq: head.seq + 1, signer: fixture.officer.id, recordedAt: try Timestamp.now(),
                    data: .contribution(
                        try Contribution(
                            factory: "de-jupiter", source: .memberState("FR"), amount: Cents(1),
                            date: CalendarDate.parse("2026-02-15", field: "date"), category: .capex,
                            kind: .payment, ref: "FR-1"))),
                prevHash: head.hash, key: fixture.officer)
            for (entry, message) in [
                (forged, "signature does not verify"), (skewed, "the server's clock"), (outOfScope, "may not record a contribution from ms:FR"),
            ] {
                let answer = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([entry]))
                #expect(answer.status == .unprocessableContent, "\(answer.text)")
                let error = try answer.error()
                #expect(error["entry_index"] == .integer(0), "\(answer.text)")
                guard case .string(let text)? = error["message"] else { throw RouteTestFailure(answer.text) }
                #expect(text.contains(message), "\(text)")
            }
            #expect(try fixture.head() == head, "nothing written")
            // A stored entry resubmitted with another signature is not "recorded before".
            let recorded = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([good]))
            #expect(recorded.status == .created, "\(recorded.text)")
            let resigned = Entry(
                seq: good.seq, type: good.type, body: good.body, prevHash: good.prevHash, hash: good.hash, signer: good.signer,
                signature: [UInt8](repeating: 0, count: 64), recordedAt: good.recordedAt)
            let replay = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([resigned]))
            #expect(replay.status == .conflict, "\(replay.text)")
        }
    }

    /// Issue 31 (hostile pass): the request's `allow_duplicate` lets through only an entry that
    /// says so itself, so that no double booking is recorded without the member that reports list.
    @Test func aRequestFlagDoesNotStandForTheEntrys() async throws {
        let fixture = try RouteFixture()
        try await fixture.app().test(.router) { client in
            let first = try fixture.payment("R-1", after: try fixture.head())
            let recorded = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([first]))
            #expect(recorded.status == .created, "\(recorded.text)")
            let head = try fixture.head()
            let plain = try fixture.payment("R-2", after: head)  // the same payment under another ref, not saying so
            let refused = try await client.execute(
                uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([plain], extra: ["allow_duplicate": .bool(true)]))
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.text.contains("looks like entry \(first.seq)"), "\(refused.text)")
            #expect(try fixture.head() == head, "nothing written")
            guard case .contribution(let item) = try EntryBody.decode(plain.body).data else { throw RouteTestFailure("not a contribution") }
            let said = try Entry.make(
                body: EntryBody(
                    seq: head.seq + 1, signer: fixture.officer.id, recordedAt: try Timestamp.now(),
                    data: .contribution(
                        try Contribution(
                            factory: item.factory, source: item.source, amount: item.amount, date: item.date, category: item.category,
                            kind: item.kind, ref: item.ref, allowsDuplicate: true))),
                prevHash: head.hash, key: fixture.officer)
            let allowed = try await client.execute(
                uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([said], extra: ["allow_duplicate": .bool(true)]))
            #expect(allowed.status == .created, "\(allowed.text)")
        }
    }

    /// A client whose last reference goes on one of the HTTP client's event loops shuts down
    /// without waiting there: waiting on an event loop traps (seen as a server that stopped on its
    /// witness's word exiting 4, not 2, when its witness client went last on such a thread).
    @Test func aClientDroppedOnAnEventLoopDoesNotTrap() async throws {
        final class Holder: @unchecked Sendable { var client: LedgerClient? }
        let holder = Holder()
        holder.client = try LedgerClient(url: "http://127.0.0.1:9")
        try await MultiThreadedEventLoopGroup.singleton.any().submit { holder.client = nil }.get()
        #expect(holder.client == nil)
    }

    /// A batch (enough entries to be admitted on every core, issue 35) is looked up only where a key
    /// may be held: a repeat is still found, whether of an entry before the batch or of an earlier
    /// entry of the batch itself (by its facts, by its amount in the week, by its ref alone).
    @Test func aBatchsRepeatsAreFoundInTheLedgerAndInTheBatch() async throws {
        let fixture = try RouteFixture()
        @Sendable func payment(_ ref: String, cents: Int64, day: Int, after head: Entry) throws -> Entry {
            let data = EntryData.contribution(
                try Contribution(
                    factory: "de-jupiter", source: .memberState("DE"), amount: Cents(cents),
                    date: CalendarDate.parse(String(format: "2026-03-%02d", day), field: "date"), category: .capex, kind: .payment, ref: ref))
            return try Entry.make(
                body: EntryBody(seq: head.seq + 1, signer: fixture.officer.id, recordedAt: try Timestamp.now(), data: data), prevHash: head.hash,
                key: fixture.officer)
        }
        /// 20 distinct payments after the head; `repeating(index)` makes the one at `index` instead.
        @Sendable func batch(_ tag: String, repeating: [Int: @Sendable (Entry) throws -> Entry] = [:]) throws -> [Entry] {
            var entries = [Entry](), head = try fixture.head()
            for index in 0..<20 {
                let entry =
                    try repeating[index]?(head) ?? payment("\(tag)-\(index)", cents: 300_000 + Int64(index) * 1_000, day: 1 + index, after: head)
                entries.append(entry)
                head = entry
            }
            return entries
        }
        try await fixture.app().test(.router) { client in
            let first = try payment("EARLIER", cents: 777_700, day: 20, after: try fixture.head())
            #expect(try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission([first])).status == .created)
            let head = try fixture.head()
            let cases: [(String, [Int: @Sendable (Entry) throws -> Entry], String)] = [
                ("ledger", [12: { try payment("EARLIER", cents: 777_700, day: 20, after: $0) }], "repeats entry \(first.seq)"),
                ("week", [9: { try payment("OTHER", cents: 777_700, day: 22, after: $0) }], "looks like entry \(first.seq)"),
                ("ref", [7: { try payment("EARLIER", cents: 5_000, day: 2, after: $0) }], "already the ref of entry \(first.seq)"),
                ("self", [15: { try payment("self-4", cents: 304_000, day: 5, after: $0) }], "repeats entry \(head.seq + 5)"),
                ("selfweek", [15: { try payment("AGAIN", cents: 304_000, day: 8, after: $0) }], "looks like entry \(head.seq + 5)"),
                ("selfref", [15: { try payment("selfref-4", cents: 9_000, day: 28, after: $0) }], "already the ref of entry \(head.seq + 5)"),
            ]
            for (tag, repeating, expected) in cases {
                let refused = try await client.execute(
                    uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission(try batch(tag, repeating: repeating)))
                #expect(refused.status == .unprocessableContent, "\(tag): \(refused.text)")
                #expect(refused.text.contains(expected), "\(tag): \(refused.text)")
                #expect(try fixture.head() == head, "\(tag): nothing written")
            }
            let recorded = try await client.execute(uri: "/ledger/v1/entries", method: .post, body: RouteFixture.submission(try batch("fine")))
            #expect(recorded.status == .created, "\(recorded.text)")
            #expect(try fixture.head().seq == head.seq + 20)
        }
    }

    /// The read path: the checkpoint the log key keeps, tiles and bundles (full ones cached for a
    /// year, partial ones briefly), entries by seq and hash, proofs, health, metrics.
    @Test func theReadPathServesWhatPublishWrites() async throws {
        let fixture = try RouteFixture()
        let head = try fixture.head()
        try await fixture.app().test(.router) { client in
            #expect(try await eventually { try await client.execute(uri: "/checkpoint", method: .get).status == .ok })
            let checkpoint = try await client.execute(uri: "/checkpoint", method: .get)
            #expect(checkpoint.headers[.contentType] == "text/plain; charset=utf-8" && checkpoint.headers[.cacheControl] == "no-store")
            let parsed = try Checkpoint.parse(try SignedNote.parse(checkpoint.text).text)
            #expect(parsed.origin == RouteFixture.origin && parsed.size == head.seq)

            let tile = try await client.execute(uri: "/tile/entries/000.p/\(head.seq)", method: .get)
            #expect(tile.status == .ok && tile.headers[.cacheControl] == "public, max-age=1" && tile.body.readableBytes == 34 * Int(head.seq))
            let bundle = try await client.execute(uri: "/ledger/v1/bundle/000.p/\(head.seq)", method: .get)
            #expect(try EntryWire.decodeLines(Array(buffer: bundle.body)).last == head)
            let beyond = try await client.execute(uri: "/tile/entries/000.p/\(head.seq + 1)", method: .get)
            #expect(beyond.status == .notFound)

            let byHash = try await client.execute(uri: "/ledger/v1/entries/\(Encoding.hex(head.hash))", method: .get)
            #expect(try EntryWire.decode(json: Array(buffer: byHash.body).dropLastNewline()) == head)
            #expect(byHash.headers[.cacheControl] == "public, max-age=31536000, immutable")
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(try health.object()["size"] == .integer(head.seq))
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.text.contains("gigaledger_requests_total"), "\(metrics.text)")
        }
    }

    /// A checkpoint an authority signed over its verified copy is kept when it holds against the
    /// server's own tree; one as recent kept before stands; another origin's, another history's, a
    /// key the ledger does not know: refused, nothing kept.
    @Test func aSignedCheckpointIsKeptWhenItHolds() async throws {
        let fixture = try RouteFixture()
        // Signed over a copy as `checkpoint --server` signs (the authority's own key, offline).
        let copy = fixture.folder.file("copy.sqlite")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: copy)
        let note = try Ledger.open(path: copy, forWriting: true).signedCheckpoint(key: fixture.authority)
        let stranger = SigningKey.generate()
        let size = try fixture.head().seq
        let root = try Ledger.open(path: fixture.path, forWriting: false).root(size: size)
        @Sendable func signed(_ checkpoint: Checkpoint, by key: SigningKey) throws -> String {
            SignedNote(text: checkpoint.text, signatures: [try NoteKey.sign(checkpoint.text, name: checkpoint.origin, key: key)]).encoded
        }
        var limits = RouteFixture.limits
        limits.checkpointIntervalMilliseconds = 3_600_000  // the log key keeps its first checkpoint only
        try await fixture.app(limits: limits).test(.router) { client in
            let refusals = [
                (try signed(Checkpoint(origin: "other.example/ledger", size: size, root: root), by: fixture.authority), "not of this ledger"),
                (
                    try signed(Checkpoint(origin: RouteFixture.origin, size: size, root: [UInt8](repeating: 1, count: 32)), by: fixture.authority),
                    "another history"
                ),
                (try signed(Checkpoint(origin: RouteFixture.origin, size: size, root: root), by: stranger), "not signed by a log or authority key"),
                (try signed(Checkpoint(origin: RouteFixture.origin, size: size + 1, root: root), by: fixture.authority), "this ledger has"),
            ]
            for (text, message) in refusals {
                let answer = try await client.execute(uri: "/ledger/v1/checkpoints", method: .post, body: ByteBuffer(string: text))
                #expect(answer.status == .unprocessableContent, "\(answer.text)")
                #expect(answer.text.contains(message), "\(answer.text)")
            }
            // The log key kept one of this size at start: that one stands.
            #expect(try await eventually { try await client.execute(uri: "/checkpoint", method: .get).status == .ok })
            let kept = try await client.execute(uri: "/ledger/v1/checkpoints", method: .post, body: ByteBuffer(string: note))
            #expect(kept.status == .ok, "\(kept.text)")
            #expect(try kept.object()["kept"] == .string("before"))
        }
    }

    /// An auditor's cosignature of a kept checkpoint is kept once; a forged line, or one for a size
    /// the ledger keeps no checkpoint of, is refused.
    @Test func anAuditorsCosignatureIsKeptOnce() async throws {
        let fixture = try RouteFixture()
        try await fixture.app().test(.router) { client in
            #expect(try await eventually { try await client.execute(uri: "/checkpoint", method: .get).status == .ok })
            let note = try await client.execute(uri: "/checkpoint", method: .get).text
            let signed = try SignedNote.parse(note)
            let size = try Checkpoint.parse(signed.text).size
            let line = try NoteKey.cosign(
                signed.text, name: "coa.example/witness", key: fixture.auditor, timestamp: UInt64(Date().timeIntervalSince1970))
            func post(_ size: Int64, _ line: String) async throws -> TestResponse {
                let body = CheckpointWire.json(ReplicatedCosignature(size: size, keyID: fixture.auditor.id.description, line: line)).encoded()
                return try await client.execute(uri: "/ledger/v1/cosignatures", method: .post, body: ByteBuffer(bytes: body))
            }
            let first = try await post(size, line.text)
            #expect(first.status == .created, "\(first.text)")
            #expect(try await post(size, line.text).status == .ok)
            // Once one is kept, a line that is not that key's cosignature is still refused, not "kept before".
            let garbage = try await post(size, "garbage")
            #expect(garbage.status == .unprocessableContent, "\(garbage.text)")
            let forged = try NoteKey.cosign(signed.text + "x\n", name: "coa.example/witness", key: fixture.auditor, timestamp: 1)
            let otherSize = try await post(size + 7, forged.text)
            #expect(otherSize.status == .unprocessableContent && otherSize.text.contains("keeps no checkpoint"), "\(otherSize.text)")
            let served = try await client.execute(uri: "/checkpoint", method: .get).text
            #expect(served.contains("— coa.example/witness "), "\(served)")
        }
    }

    /// While a server holds the ledger, a second server is refused, and so is a local command's
    /// write, naming the server to write through; reads work beside it.
    @Test func theServerIsTheLedgersOneWriter() async throws {
        let fixture = try RouteFixture()
        let app = try await fixture.app()
        try await app.test(.router) { _ in
            await #expect(throws: LedgerError.self) { _ = try await fixture.app() }
            do {
                _ = try Ledger.open(path: fixture.path, forWriting: true)
                Issue.record("a local writer opened a served ledger")
            } catch let error as LedgerError {
                guard case .served = error else { throw error }
                #expect(error.description.contains("write through"), "\(error)")
            }
            #expect(try Ledger.open(path: fixture.path, forWriting: false).verify().failure == nil)
        }
    }
}
