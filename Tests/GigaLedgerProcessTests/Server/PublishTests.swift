import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore

/// Debian's nginx serving a folder on 127.0.0.1 with a free port: a plain web server, nothing of ours.
final class StaticServer: @unchecked Sendable {
    let process = Process()
    let url: String

    /// `server`: the lines of its `server { }` block after `listen` (default: `root ROOT;`).
    init(dir: TempDir, root: String, server: String? = nil) throws {
        let port = try freePort()
        // As root, nginx's workers would otherwise run as nobody, who cannot read a test's private folder.
        let user = getuid() == 0 ? "user root;\n" : ""
        let config = """
            \(user)daemon off;
            worker_processes 1;
            pid \(dir.file("nginx.pid"));
            error_log \(dir.file("nginx-error.log"));
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path \(dir.path); proxy_temp_path \(dir.path); fastcgi_temp_path \(dir.path);
              uwsgi_temp_path \(dir.path); scgi_temp_path \(dir.path);
              default_type application/octet-stream;
              server { listen 127.0.0.1:\(port); \(server ?? "root \(root);") }
            }
            """
        dir.write("nginx.conf", config, mode: 0o644)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-c", dir.file("nginx.conf"), "-e", dir.file("nginx-error.log")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        url = "http://127.0.0.1:\(port)"
        // Serving once a request is answered (404 for a missing file is an answer).
        for _ in 0..<100 {
            if (try? rawHTTP(url, request: httpRequest("GET", "/no-such-file"), readTimeout: 1))?.status == 404 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ServerStartFailure(output: "nginx did not start: \((try? String(contentsOfFile: dir.file("nginx-error.log"), encoding: .utf8)) ?? "")")
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A port nobody listens on now (the kernel's pick for a socket bound to port 0).
func freePort() throws -> Int {
    let (socket, port) = try boundSocket(listening: false)
    close(socket)
    return Int(port)
}

/// Publication (issue 14): the ledger as static files that any web server serves, the same bytes
/// as `serve` answers, from which anyone keeps a verified copy with `sync`.
@Suite(.serialized) struct PublishTests {
    /// Enough entries for full tiles and bundles (more than 256), then more after a first publication.
    func importRows(_ fixture: ServerFixture, _ name: String, from first: Int, count: Int) throws {
        let rows = (first..<(first + count)).map { "contribution,de-jupiter,ms:DE,payment,capex,\($0).00,2026-03-02,PUB-\($0)\n" }.joined()
        fixture.dir.write(name, "type,factory,source,kind,category,amount,date,ref\n" + rows, mode: 0o644)
        try fixture.cli.expectOK(["import", name, "--key", "officer.key"], env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        try fixture.cli.expectOK(["checkpoint", "--key", "authority.key"])
    }

    /// Every published file is what `serve` answers for its path, byte for byte.
    @Test func aPublicationIsWhatTheServerServes() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 600)
        let out = fixture.dir.file("pub")
        let published = try fixture.cli.expectOK(["publish", "--out", out])
        #expect(published.stdout.contains("published the checkpoint of 606 entries"), "\(published.stdout)")
        let server = try fixture.start()
        let files = try FileManager.default.subpathsOfDirectory(atPath: out).filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: out + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
        #expect(
            files.contains("tile/0/000") && files.contains("tile/0/002.p/94") && files.contains("tile/1/000.p/2")
                && files.contains("tile/entries/001")
                && files.contains("ledger/v1/bundle/002.p/94") && files.contains("ledger/v1/checkpoints") && files.contains("checkpoint")
                && files.contains("ledger/v1/key-entries") && files.contains("entries/page-3.html")
                && files.contains("entries/factory-de-jupiter/page-3.html") && files.contains("entries/source-ms-DE/page-3.html"), "\(files)")
        // No page and no receipt per entry.
        #expect(!files.contains { $0.hasPrefix("receipts/") || $0.hasPrefix("entries/1") }, "\(files)")
        // Every file but the publication's own bookkeeping (its lists' open pages) is served.
        for file in files where file != "entries/lists.json" && file != ".publish.lock" {
            let served = try rawHTTPBytes(server.url, request: httpRequest("GET", "/" + file))
            #expect(served.status == 200, "\(file): \(served.status)")
            #expect(
                served.body == [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + file))), "\(file) differs from what the server serves")
        }
        server.stop()
    }

    /// Issue 32, nginx: the configuration shipped in deploy/nginx (the runbook's), included as an
    /// operator would, serves a publication under a sub-path with the headers `serve` gives the
    /// same paths (the checkpoint as text, not cached; full tiles and bundles immutable; partial
    /// ones briefly), and a copy syncs from that sub-path.
    @Test func nginxServesAPublicationWithTheServersHeaders() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 300)
        let www = fixture.dir.file("www")
        try fixture.cli.expectOK(["publish", "--out", www + "/ledger"])
        let shipped = try String(contentsOfFile: Repository.path("deploy/nginx/gigaledger-publication.conf"), encoding: .utf8)
        fixture.dir.write("publication.conf", shipped.replacingOccurrences(of: "root /var/www;", with: "root \(www);"), mode: 0o644)
        let nginx = try StaticServer(dir: fixture.dir, root: www, server: "include \(fixture.dir.file("publication.conf"));")
        defer { nginx.stop() }
        func headers(_ path: String) -> String {
            shell("curl -sS -o /dev/null -D - '\(nginx.url)/ledger/\(path)'", in: fixture.dir).stdout.lowercased()
        }
        for (path, type, cache) in [
            ("checkpoint", "text/plain; charset=utf-8", "no-store"),
            ("tile/0/000", "application/octet-stream", "public, max-age=31536000, immutable"),
            ("tile/0/001.p/50", "application/octet-stream", "public, max-age=1"),
            ("tile/entries/000", "application/octet-stream", "public, max-age=31536000, immutable"),
            ("ledger/v1/bundle/000", "application/x-ndjson", "public, max-age=31536000, immutable"),
            ("ledger/v1/bundle/001.p/50", "application/x-ndjson", "public, max-age=1"),
            ("ledger/v1/checkpoints", "application/json", "no-store"),
            ("index.html", "text/html; charset=utf-8", "public, max-age=1"),
        ] {
            let answer = headers(path)
            #expect(answer.hasPrefix("http/1.1 200"), "\(path): \(answer)")
            #expect(answer.contains("content-type: \(type)\r\n"), "\(path): \(answer)")
            #expect(
                answer.contains("cache-control: \(cache)\r\n") && answer.components(separatedBy: "cache-control:").count == 2, "\(path): \(answer)")
        }
        let copy = fixture.dir.file("copy.sqlite")
        let synced = fixture.cli.run(
            ["sync", "--from", nginx.url + "/ledger/", "--ledger", copy, "--authority-key", "authority.pub"],
            env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor")])
        #expect(synced.status == 0 && synced.stdout.contains("306 new entries"), "\(synced.stdout) \(synced.stderr)")
    }

    /// Served by nginx: a copy made with `sync` from the folder equals the ledger row for row;
    /// a second publication after more entries writes only what is new, and the copy follows;
    /// a publication whose entries were altered is refused, nothing taken in.
    @Test func aCopyFromStaticFilesServedByNginx() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 300)
        let out = fixture.dir.file("pub")
        try fixture.cli.expectOK(["publish", "--out", out])
        let nginx = try StaticServer(dir: fixture.dir, root: out)
        let copy = fixture.dir.file("copy.sqlite")
        let auditor = ["XDG_CONFIG_HOME": fixture.dir.file("auditor")]
        let created = fixture.cli.run(["sync", "--from", nginx.url, "--ledger", copy, "--authority-key", "authority.pub"], env: auditor)
        #expect(created.status == 0 && created.stdout.contains("created \(copy): 306 new entries"), "\(created.stdout) \(created.stderr)")
        let older = fixture.dir.file("older.sqlite")
        try fixture.cli.expectOK(["backup", "--out", older])
        try importRows(fixture, "b.csv", from: 301, count: 100)
        // What a killed publish (a process gone) left half-written is cleared by the next one;
        // a live process's file is not touched.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let leftover = out + "/tile/0/000.new-\(gone.processIdentifier)", live = out + "/tile/0/000.new-\(getpid())"
        fixture.dir.write("pub/tile/0/000.new-\(gone.processIdentifier)", "half")
        fixture.dir.write("pub/tile/0/000.new-\(getpid())", "in progress")
        let again = try fixture.cli.expectOK(["publish", "--out", out])
        #expect(!FileManager.default.fileExists(atPath: leftover) && FileManager.default.fileExists(atPath: live))
        try FileManager.default.removeItem(atPath: live)
        #expect(again.stdout.contains("published the checkpoint of 407 entries"), "\(again.stdout)")
        #expect(again.stdout.contains("unchanged") && !again.stdout.contains(", 0 unchanged"), "full tiles are kept: \(again.stdout)")
        let updated = fixture.cli.run(["sync", "--from", nginx.url, "--ledger", copy], env: auditor)
        #expect(updated.status == 0 && updated.stdout.contains("101 new entries, 407 in all"), "\(updated.stdout) \(updated.stderr)")
        try fixture.cli.expectOK(["verify", "--ledger", copy], env: auditor)
        #expect(try rows("entries", copy) == rows("entries", fixture.ledger))
        #expect(try rows("checkpoints", copy) == rows("checkpoints", fixture.ledger))
        // A lagging copy publishing into the same folder would roll it back: refused, nothing written.
        let rollback = fixture.cli.run(["publish", "--ledger", older, "--out", out])
        #expect(rollback.status == 65 && rollback.stderr.contains("already publishes a checkpoint of 407 entries"), "\(rollback.stderr)")
        // Nothing new: nothing taken in.
        let same = fixture.cli.run(["sync", "--from", nginx.url, "--ledger", copy], env: auditor)
        #expect(same.status == 0 && same.stdout.contains("0 new entries"), "\(same.stdout) \(same.stderr)")
        // An altered bundle (a signature changed in entry 410): refused, the copy as it was.
        try importRows(fixture, "c.csv", from: 401, count: 5)
        try fixture.cli.expectOK(["publish", "--out", out])
        let bundle = out + "/ledger/v1/bundle/001.p/157"
        var lines = try String(contentsOfFile: bundle, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex { $0.contains("\"seq\":410") })
        let tampered = try #require(lines[index].range(of: "\"signature\":\""))
        let start = lines[index].index(tampered.upperBound, offsetBy: 0)
        lines[index].replaceSubrange(start...start, with: lines[index][start] == "0" ? "1" : "0")
        try lines.joined(separator: "\n").write(toFile: bundle, atomically: false, encoding: .utf8)
        let refused = fixture.cli.run(["sync", "--from", nginx.url, "--ledger", copy], env: auditor)
        #expect(refused.status == 1 && refused.stderr.contains("410"), "\(refused.stdout) \(refused.stderr)")
        #expect(try rows("entries", copy).count == 407)
        nginx.stop()
    }

    /// Issue 28, case 5: a copy already above a fork's size syncs from a publication whose
    /// `ledger/v1/checkpoints` lists a checkpoint that the log key signed over another history:
    /// the signed split view is evidence (exit 1), nothing taken in, not "0 new entries".
    @Test func aSplitViewListedByAPublicationIsEvidence() throws {
        let fixture = try ServerFixture()
        let fork = fixture.dir.file("fork.sqlite")
        try fixture.cli.expectOK(["backup", "--out", fork])
        try fixture.cli.expectOK([
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "5.00",
            "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--ref", "OTHER", "--ledger", fork,
        ])
        let forked = try fixture.cli.expectOK(["checkpoint", "--key", "log.key", "--ledger", fork]).stdout
        let forkedCheckpoint = try Checkpoint.parse(SignedNote.parse(forked).text)
        try importRows(fixture, "a.csv", from: 1, count: 5)
        let out = fixture.dir.file("pub")
        try fixture.cli.expectOK(["publish", "--out", out])
        let nginx = try StaticServer(dir: fixture.dir, root: out)
        defer { nginx.stop() }
        let copy = fixture.dir.file("copy.sqlite")
        let auditor = ["XDG_CONFIG_HOME": fixture.dir.file("auditor")]
        try fixture.cli.expectOK(["sync", "--from", nginx.url, "--ledger", copy, "--authority-key", "authority.pub"], env: auditor)
        // The publisher adds the log key's checkpoint of the other history to the list.
        let list = out + "/ledger/v1/checkpoints"
        let text = try String(contentsOfFile: list, encoding: .utf8)
        let row = String(
            decoding: CanonicalJSON.object([
                "size": .integer(forkedCheckpoint.size), "root": .string(Encoding.hex(forkedCheckpoint.root)), "note": .string(forked),
                "signed_at": .string("2026-12-01T00:00:00Z"),
            ]).encoded(), as: UTF8.self)
        try text.replacingOccurrences(of: #"{"checkpoints":["#, with: #"{"checkpoints":["# + row + ",").write(
            toFile: list, atomically: true, encoding: .utf8)
        let refused = fixture.cli.run(["sync", "--from", nginx.url, "--ledger", copy], env: auditor)
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("signed by a checkpoint key of this ledger, that does not match this copy's first"), "\(refused.stderr)")
        func evidence() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).filter { $0.hasPrefix("gigaledger-evidence-") }.count
        }
        #expect(try evidence() == 1)
        try fixture.cli.expectOK(["verify", "--ledger", copy], env: auditor)
        // A new copy from the same publication: the same finding, with its evidence too.
        let fresh = fixture.cli.run(["sync", "--from", nginx.url, "--ledger", fixture.dir.file("fresh.sqlite")], env: auditor)
        #expect(fresh.status == 1 && fresh.stderr.contains("the key signed two histories"), "\(fresh.stderr)")
        #expect(try evidence() == 2)
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("fresh.sqlite")))
    }

    /// schema/tools/check_tiles.py, written from the C2SP specifications: it reads a publication as
    /// any tlog-tiles client would, from the folder and through a plain web server, and finds a
    /// changed tile, a changed checkpoint and a missing or false witness.
    @Test func anIndependentTilesReaderVerifiesAPublication() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 600)
        let out = fixture.dir.file("pub")
        try fixture.cli.expectOK(["publish", "--out", out])
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("schema/tools/check_tiles.py").path
        func check(_ source: String, _ options: String = "--key authority.pub") -> Run {
            shell("python3 '\(script)' '\(source)' \(options)", in: fixture.dir)
        }
        let good = check(out)
        #expect(good.status == 0 && good.stdout.hasPrefix("verified: test.example/ledger at tree size 606, root "), "\(good.stdout) \(good.stderr)")
        #expect(check(out, "--key officer.pub").status == 1, "a key that signed no checkpoint")
        let nginx = try StaticServer(dir: fixture.dir, root: out)
        let served = check(nginx.url)
        #expect(served.status == 0 && served.stdout == good.stdout, "\(served.stdout) \(served.stderr)")
        nginx.stop()

        // One byte of a full level-0 tile changed: its entry bundle, the root and the level-1 tile disagree with it.
        let tampered = fixture.dir.file("tampered")
        try FileManager.default.copyItem(atPath: out, toPath: tampered)
        var tile = try Data(contentsOf: URL(fileURLWithPath: tampered + "/tile/0/001"))
        tile[100] ^= 1
        try tile.write(to: URL(fileURLWithPath: tampered + "/tile/0/001"))
        let badTile = check(tampered)
        #expect(
            badTile.status == 1 && badTile.stdout.contains("tile/entries/001: the leaf hash of entry 260 is not tile/0/001's hash 3")
                && !badTile.stdout.contains("verified"), "\(badTile.stdout) \(badTile.stderr)")
        // The checkpoint's root line changed (in a fresh copy): its signature no longer verifies.
        try FileManager.default.removeItem(atPath: tampered)
        try FileManager.default.copyItem(atPath: out, toPath: tampered)
        var lines = try String(contentsOfFile: tampered + "/checkpoint", encoding: .utf8).components(separatedBy: "\n")
        lines[2] = (lines[2].hasPrefix("A") ? "B" : "A") + lines[2].dropFirst()
        try lines.joined(separator: "\n").write(toFile: tampered + "/checkpoint", atomically: false, encoding: .utf8)
        let badRoot = check(tampered)
        #expect(badRoot.status == 1 && badRoot.stdout.contains("does not verify"), "\(badRoot.stdout) \(badRoot.stderr)")

        // An auditor cosigns the published checkpoint; published again, the cosignature is found.
        try fixture.cli.expectOK(["key", "generate", "--out", "auditor", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "auditor.pub", "--name", "Auditor", "--role", "auditor"])
        try fixture.cli.expectOK(["checkpoint", "--key", "authority.key"])
        try fixture.cli.expectOK(["publish", "--out", out])
        try fixture.cli.expectOK(["cosign", out + "/checkpoint", "--key", "auditor.key", "--name", "court.example/auditor"])
        try fixture.cli.expectOK(["publish", "--out", out])
        let witnessed = check(out, "--key authority.pub --witness auditor.pub")
        #expect(
            witnessed.status == 0 && witnessed.stdout.hasPrefix("cosigned by 1 of the 1 witnesses given; 1 required\nverified: "),
            "\(witnessed.stdout) \(witnessed.stderr)")
        let unwitnessed = check(out, "--key authority.pub --witness auditor.pub --witness officer.pub")
        #expect(unwitnessed.status == 1 && unwitnessed.stdout.contains("cosigned by 1 of the 2 witnesses given; 2 required"), "\(unwitnessed.stdout)")
        #expect(check(out, "--key authority.pub --witness auditor.pub --witness officer.pub --quorum 1").status == 0)
    }

    /// The public page in a real browser (Debian's chromium, chromium-driver, Selenium, axe-core):
    /// from the published files served by nginx and from `serve`, at desktop and phone width, with
    /// no serious or critical accessibility violation, following a gigafactory's link to its
    /// entries; its figures (money by source, the Union's shares, the verdicts) are the year's
    /// report's at the same state; a receipt for an entry comes from either address.
    @Test func thePublicPageInABrowser() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        let union =
            (1...3).map { "contribution,de-jupiter,eu,commitment,capex,\(1_000_000 + $0).00,2026-03-0\($0),EU-C\($0)\n" }.joined()
            + "contribution,de-jupiter,eu,payment,capex,400000.00,2026-03-05,EU-P1\n"
        fixture.dir.write("eu.csv", "type,factory,source,kind,category,amount,date,ref\n" + union, mode: 0o644)
        try fixture.cli.expectOK(["import", "eu.csv", "--key", "authority.key"], env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        let state = (1...3).map { "contribution,de-jupiter,ms:DE,commitment,capex,\(2_000_000 + $0).00,2026-03-0\($0),DE-C\($0)\n" }.joined()
        fixture.dir.write("de.csv", "type,factory,source,kind,category,amount,date,ref\n" + state, mode: 0o644)
        try fixture.cli.expectOK(["import", "de.csv", "--key", "officer.key"], env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        try importRows(fixture, "a.csv", from: 1, count: 300)
        let out = fixture.dir.file("pub")
        try fixture.cli.expectOK(["publish", "--out", out])
        let lines = try String(contentsOfFile: out + "/checkpoint", encoding: .utf8).split(separator: "\n")
        let size = try #require(Int(lines[1]))
        try fixture.cli.expectOK(["report", "--year", "2026", "--at", String(size), "--out", "year"])
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture.dir.file("year/summary.json")))) as? [String: Any])
        let factory = try #require((summary["factories"] as? [[String: Any]])?.first { $0["id"] as? String == "de-jupiter" })
        let sources = try #require((factory["cumulative"] as? [String: Any])?["sources"] as? [String: [String: Any]])
        func cents(_ source: String, _ field: String) -> Int64 { (sources[source]?[field] as? NSNumber)?.int64Value ?? 0 }
        let committed = sources.keys.reduce(Int64(0)) { $0 + cents($1, "committed_cents") }
        let paid = sources.keys.reduce(Int64(0)) { $0 + cents($1, "paid_cents") }
        let verdicts = try #require(factory["verdicts"] as? [[String: Any]]).map { $0["status"] as? String ?? "" }
        let script = Repository.path("scripts/browse-public-page.py")
        let nginx = try StaticServer(dir: fixture.dir, root: out)
        let server = try fixture.start()
        for (what, url) in [("published", nginx.url), ("served", server.url)] {
            let shots = fixture.dir.file("shots-\(what)")
            let browsed = shell("python3 '\(script)' '\(url)' '\(shots)'", in: fixture.dir)
            #expect(browsed.status == 0, "\(what): \(browsed.stdout) \(browsed.stderr)")
            for file in ["desktop.png", "phone.png", "entries.png"] {
                #expect(
                    ((try? FileManager.default.attributesOfItem(atPath: shots + "/" + file)[.size] as? Int) ?? 0) ?? 0 > 10_000, "\(what): \(file)")
            }
            // The page's figures are the report's.
            let shown = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: shots + "/figures.json"))) as? [String: [String: Any]])
            let page = try #require(shown["de-jupiter"])
            let shares = try #require(page["shares"] as? [String: String])
            #expect(
                shares["Union share of commitments"] == Fraction(Int128(cents("eu", "committed_cents")), Int128(committed)).percentText, "\(shares)")
            #expect(shares["Union share of payments so far"] == Fraction(Int128(cents("eu", "paid_cents")), Int128(paid)).percentText, "\(shares)")
            let capexVerdict = try #require(
                (factory["verdicts"] as? [[String: Any]])?.first { $0["rule"] as? String == "union-capex-share-max-gigafactory" })
            #expect(
                shares["Union share of registered CAPEX (what the cap is judged on)"] == (capexVerdict["value"] as? [String: Any])?["percent"]
                    as? String)
            let money = try #require(page["money"] as? [String: [String]])
            #expect(money["Total"] == [Cents.formatted(Int128(committed)), Cents.formatted(Int128(paid))], "\(money)")
            #expect(page["verdicts"] as? [String] == verdicts, "\(page)")
            // A receipt from the same address.
            let receipt = fixture.dir.file("receipt-\(what).txt")
            let proved = fixture.cli.run(
                ["prove", "--entry", "20", "--server", url, "--authority-key", "authority.pub", "--out", receipt],
                env: ["XDG_CONFIG_HOME": fixture.dir.file("reader-\(what)")])
            #expect(proved.status == 0, "\(what): \(proved.stderr)")
            let checked = fixture.cli.run(["check-receipt", receipt, "--ledger-key", "authority.pub"])
            #expect(checked.status == 0 && checked.stdout.hasPrefix("receipt verified: entry 20 "), "\(what): \(checked.stdout) \(checked.stderr)")
        }
        server.stop()
        nginx.stop()
    }

    /// Signed reports published with the page: each folder checked to be this ledger's (one of
    /// another state is left out), listed on the summary, its files the same from `serve`.
    @Test func reportsArePublishedWithThePage() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try importRows(fixture, "a.csv", from: 1, count: 3)
        try fixture.cli.expectOK(["report", "--quarter", "2026-Q1", "--out", "reports/2026-Q1", "--key", "authority.key"])
        // A report folder whose summary is of another ledger's state: not listed, not published.
        try fixture.cli.expectOK(["report", "--quarter", "2026-Q1", "--out", "reports/edited", "--key", "authority.key"])
        let edited = fixture.dir.file("reports/edited/summary.json")
        let summary = try String(contentsOfFile: edited, encoding: .utf8)
        let head = try #require(summary.range(of: "\"head\":\"")).upperBound
        try summary.replacingCharacters(in: head..<summary.index(after: head), with: summary[head] == "0" ? "1" : "0").write(
            toFile: edited, atomically: true, encoding: .utf8)
        // A genuine report whose report.html was replaced, and a file linked from elsewhere: the
        // folder is listed (its summary is this ledger's), but those files are not published (hostile pass).
        try FileManager.default.copyItem(atPath: fixture.dir.file("reports/2026-Q1"), toPath: fixture.dir.file("reports/altered"))
        fixture.dir.write("reports/altered/report.html", "<script>alert(1)</script>")
        try FileManager.default.removeItem(atPath: fixture.dir.file("reports/altered/report.md"))
        try FileManager.default.createSymbolicLink(atPath: fixture.dir.file("reports/altered/report.md"), withDestinationPath: "/etc/passwd")
        let out = fixture.dir.file("pub")
        try fixture.cli.expectOK(["publish", "--out", out, "--reports", fixture.dir.file("reports")])
        let index = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(index.contains("href=\"reports/2026-Q1/report.html\">2026-Q1</a>, at entry 10, signed by a key of the ledger"), "\(index)")
        #expect(FileManager.default.fileExists(atPath: out + "/reports/altered/summary.json"))
        #expect(!FileManager.default.fileExists(atPath: out + "/reports/altered/report.html"))
        #expect(!FileManager.default.fileExists(atPath: out + "/reports/altered/report.md"))
        #expect(FileManager.default.fileExists(atPath: out + "/reports/altered/contributions.csv"))
        #expect(!index.contains("reports/edited") && !FileManager.default.fileExists(atPath: out + "/reports/edited"))
        #expect(FileManager.default.fileExists(atPath: out + "/reports/2026-Q1/summary.json.minisig"))
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--reports", fixture.dir.file("reports")])
        for file in ["index.html", "reports/2026-Q1/report.html", "reports/2026-Q1/summary.json.minisig"] {
            let served = try rawHTTPBytes(server.url, request: httpRequest("GET", "/" + file))
            let published = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)))
            #expect(served.status == 200 && served.body == published, "\(file)")
        }
        #expect(try rawHTTP(server.url, request: httpRequest("GET", "/reports/edited/summary.json")).status == 404)
        server.stop()
    }

    /// Issue 32: a publish after new entries writes what is new and nothing else: the tiles and
    /// bundles from the folder's checkpoint on, each list's open page and the pages it fills, the
    /// summary and the documents; a full list page never changes; superseded partial tiles go
    /// once their grace is over, and readers of the folder still get what they need.
    @Test func aPublishWritesOnlyWhatIsNew() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 600)
        let out = fixture.dir.file("pub")
        let first = try fixture.cli.expectOK(["publish", "--out", out, "--json"])
        #expect(first.stdout.contains("\"before\":0") && first.stdout.contains("\"size\":606"), "\(first.stdout)")
        func snapshot() throws -> [String: Date] {
            var files = [String: Date]()
            for path in try FileManager.default.subpathsOfDirectory(atPath: out) {
                let attributes = try FileManager.default.attributesOfItem(atPath: out + "/" + path)
                guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
                files[path] = attributes[.modificationDate] as? Date
            }
            return files
        }
        let fullPage = try String(contentsOfFile: out + "/entries/page-1.html", encoding: .utf8)
        #expect(fullPage.contains("the list's 1 to 256") && fullPage.contains("href=\"page-2.html\" rel=\"next\""), "\(fullPage)")
        #expect(!fullPage.contains("606"), "a full page names no checkpoint")
        let before = try snapshot()
        Thread.sleep(forTimeInterval: 0.02)
        try importRows(fixture, "b.csv", from: 601, count: 1_000)
        let second = try fixture.cli.expectOK(["publish", "--out", out, "--json", "--partial-grace", "0"])
        let after = try snapshot()
        let changed = after.filter { before[$0.key] != $0.value }.keys.sorted()
        let written = try #require(
            second.stdout.split(separator: ",").first { $0.contains("files_written") }.flatMap { Int($0.split(separator: ":")[1]) })
        #expect(second.stdout.contains("\"before\":606") && second.stdout.contains("\"size\":1607"), "\(second.stdout)")
        #expect(changed.count == written, "every file written is counted: \(changed) \(second.stdout)")
        // 1,000 entries: 4 full tiles and bundles per series and a partial, level 1's partial, 5 list
        // pages per list (3 lists), the summary, lists.json, the two documents, the checkpoint.
        #expect(written <= 40, "\(written) files: \(changed)")
        #expect(
            !changed.contains("entries/page-1.html") && !changed.contains("tile/0/000") && !changed.contains("ledger/v1/key-entries"), "\(changed)")
        #expect(try String(contentsOfFile: out + "/entries/page-1.html", encoding: .utf8) == fullPage)
        // Superseded partials (grace 0) are gone; the new checkpoint's partials are there.
        #expect(!FileManager.default.fileExists(atPath: out + "/tile/0/002.p/94") && !FileManager.default.fileExists(atPath: out + "/tile/0/002.p"))
        #expect(FileManager.default.fileExists(atPath: out + "/tile/0/006.p/71") && second.stdout.contains("\"partials_removed\":"))
        // What the server answers for the same state is what was written.
        let server = try fixture.start()
        for file in ["index.html", "entries/page-1.html", "entries/page-7.html", "entries/factory-de-jupiter/page-6.html", "ledger/v1/key-entries"] {
            let served = try rawHTTPBytes(server.url, request: httpRequest("GET", "/" + file))
            let published = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)))
            #expect(served.status == 200 && served.body == published, "\(file)")
        }
        server.stop()
        // A folder whose lists were lost (or of an older layout) gets them again from the first entry.
        try FileManager.default.removeItem(atPath: out + "/entries/lists.json")
        try FileManager.default.createDirectory(atPath: out + "/receipts", withIntermediateDirectories: true)
        fixture.dir.write("pub/receipts/1.txt", "an old receipt")
        try fixture.cli.expectOK(["publish", "--out", out])
        #expect(try String(contentsOfFile: out + "/entries/page-1.html", encoding: .utf8) == fullPage)
        #expect(!FileManager.default.fileExists(atPath: out + "/receipts"))
        // A reader of the folder: a copy, and a receipt from the tiles.
        let nginx = try StaticServer(dir: fixture.dir, root: out)
        let auditor = ["XDG_CONFIG_HOME": fixture.dir.file("auditor")]
        let copy = fixture.cli.run(
            ["sync", "--from", nginx.url, "--ledger", fixture.dir.file("copy.sqlite"), "--authority-key", "authority.pub"], env: auditor)
        #expect(copy.status == 0 && copy.stdout.contains("1607 new entries"), "\(copy.stdout) \(copy.stderr)")
        nginx.stop()
    }

    /// Issue 32: `prove --entry N --server URL` makes a receipt from a publication's files (the
    /// tiles, the bundle, ledger/v1/key-entries), which `check-receipt` accepts; a publication rolled
    /// back, or with a tile or a key entry changed, gives no receipt.
    @Test func aReceiptFromAPublicationsTiles() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 300)
        let older = fixture.dir.file("older")
        try fixture.cli.expectOK(["publish", "--out", older])
        try importRows(fixture, "b.csv", from: 301, count: 300)
        let out = fixture.dir.file("pub")
        try fixture.cli.expectOK(["publish", "--out", out])
        let nginx = try StaticServer(dir: fixture.dir, root: fixture.dir.path)
        let reader = ["XDG_CONFIG_HOME": fixture.dir.file("reader")]
        for seq in ["1", "3", "260", "607"] {
            let proved = fixture.cli.run(
                ["prove", "--entry", seq, "--server", nginx.url + "/pub", "--authority-key", "authority.pub", "--out", "r\(seq).txt"], env: reader)
            #expect(proved.status == 0, "\(seq): \(proved.stdout) \(proved.stderr)")
            let checked = fixture.cli.run(["check-receipt", "r\(seq).txt", "--ledger-key", "authority.pub"])
            #expect(checked.status == 0 && checked.stdout.hasPrefix("receipt verified: entry \(seq) "), "\(seq): \(checked.stdout) \(checked.stderr)")
        }
        // The publication still holds what a receipt proves: asked of its files (a consistency proof from its tiles).
        let held = fixture.cli.run(["check-receipt", "r3.txt", "--ledger-key", "authority.pub", "--server", nginx.url + "/pub"], env: reader)
        #expect(held.status == 0 && held.stdout.contains("its checkpoint of 607 entries extends the receipt's"), "\(held.stdout) \(held.stderr)")
        let beyond = fixture.cli.run(["prove", "--entry", "608", "--server", nginx.url + "/pub"], env: reader)
        #expect(beyond.status == 65 && beyond.stderr.contains("608"), "\(beyond.status) \(beyond.stderr)")
        // The same reader, shown the older publication at the same address: a rollback, refused.
        try FileManager.default.moveItem(atPath: out, toPath: fixture.dir.file("newer"))
        try FileManager.default.copyItem(atPath: older, toPath: out)
        // An older publication (a mirror behind, or a rollback) cannot be compared from its own
        // tiles: what it proves stays true of its entries, and an entry beyond it is said to lag.
        let lagging = fixture.cli.run(["prove", "--entry", "3", "--server", nginx.url + "/pub", "--out", "r3-older.txt"], env: reader)
        #expect(lagging.status == 0, "\(lagging.stderr)")
        let rolledBack = fixture.cli.run(["prove", "--entry", "500", "--server", nginx.url + "/pub"], env: reader)
        #expect(rolledBack.status == 65 && rolledBack.stderr.contains("behind the 607 you saw before"), "\(rolledBack.stderr)")
        let notHeld = fixture.cli.run(["check-receipt", "r607.txt", "--ledger-key", "authority.pub", "--server", nginx.url + "/pub"], env: reader)
        #expect(notHeld.status == 1 && notHeld.stderr.contains("fewer than the receipt's checkpoint of 607"), "\(notHeld.stdout) \(notHeld.stderr)")
        try FileManager.default.removeItem(atPath: out)
        try FileManager.default.moveItem(atPath: fixture.dir.file("newer"), toPath: out)
        // A tile changed (the level-1 hash of entries 257 to 512, in entry 3's proof): the proof leads elsewhere.
        let tile = out + "/tile/1/000.p/2"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: tile)))
        bytes[40] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: tile))
        let badTile = fixture.cli.run(["prove", "--entry", "3", "--server", nginx.url + "/pub"], env: reader)
        #expect(badTile.status == 1 && badTile.stderr.contains("entry 3"), "\(badTile.status) \(badTile.stdout) \(badTile.stderr)")
        nginx.stop()
    }

    /// Issue 32: `serve --publish DIR` keeps a publication up to date with the checkpoints the
    /// server keeps: officers record through the server, the folder (served by nginx) follows, a
    /// copy synced from it holds their entries, and its pages are the server's.
    @Test func theServerKeepsItsPublicationUpToDate() throws {
        let fixture = try ServerFixture()
        let out = fixture.dir.file("pub")
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--publish", out, "--partial-grace", "0"])
        func published() -> Int? {
            guard let text = try? String(contentsOfFile: out + "/checkpoint", encoding: .utf8) else { return nil }
            return Int(text.split(separator: "\n")[1])
        }
        func waitFor(_ size: Int) -> Bool {
            for _ in 0..<200 {
                if published() == size { return true }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }
        let start = try #require(
            Int(try fixture.cli.expectOK(["status", "--json"]).stdout.split(separator: "\"entries\":")[1].prefix { $0.isNumber }))
        #expect(waitFor(start), "the first checkpoint is published: \(published() ?? 0) \(server.log)")
        for ref in ["SP-1", "SP-2", "SP-3"] {
            let recorded = fixture.remote(fixture.payment(ref: ref), server: server)
            #expect(recorded.status == 0, "\(recorded.stderr)")
        }
        #expect(waitFor(start + 3), "the publication follows: \(published() ?? 0) \(server.log)")
        let nginx = try StaticServer(dir: fixture.dir, root: out)
        let copy = fixture.cli.run(
            ["sync", "--from", nginx.url, "--ledger", fixture.dir.file("copy.sqlite"), "--authority-key", "authority.pub"],
            env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor")])
        #expect(copy.status == 0 && copy.stdout.contains("\(start + 3) new entries"), "\(copy.stdout) \(copy.stderr)")
        for file in ["index.html", "entries/page-1.html", "ledger/v1/key-entries", "checkpoint"] {
            let served = try rawHTTPBytes(server.url, request: httpRequest("GET", "/" + file))
            let written = try rawHTTPBytes(nginx.url, request: httpRequest("GET", "/" + file))
            #expect(served.status == 200 && served.body == written.body, "\(file)")
        }
        nginx.stop()
        server.stop()
    }

    /// Issue 32, bad input: a bad --partial-grace (exit 64), and a folder that holds other things
    /// (a web site, the ledger and its keys): refused in one line, nothing written or removed.
    @Test func badPublishInputWritesNothing() throws {
        let fixture = try ServerFixture()
        try importRows(fixture, "a.csv", from: 1, count: 3)
        for value in ["-1", "abc", "0.5", "31536001"] {
            let refused = fixture.cli.run(["publish", "--out", "pub", "--partial-grace=\(value)"])
            #expect(refused.status == 64 && refused.stderr.contains("--partial-grace \"\(value)\" is not a number of seconds"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("pub")))
        }
        try FileManager.default.createDirectory(atPath: fixture.dir.file("site/entries"), withIntermediateDirectories: true)
        fixture.dir.write("site/about.html", "<h1>my site</h1>")
        fixture.dir.write("site/entries/mine.txt", "mine")
        let before = try FileManager.default.subpathsOfDirectory(atPath: fixture.dir.file("site")).sorted()
        let refused = fixture.cli.run(["publish", "--out", "site"])
        #expect(
            refused.status == 65 && refused.stderr.contains("holds files that are not a publication (about.html)")
                && refused.stderr.contains("nothing was written"), "\(refused.stderr)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: fixture.dir.file("site")).sorted() == before)
        #expect(try String(contentsOfFile: fixture.dir.file("site/entries/mine.txt"), encoding: .utf8) == "mine")
    }

    func rows(_ table: String, _ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { $0.description } }
    }
}
