import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab mpc certs`: a development CA and one certificate per party (and the dealer).
struct MPCCerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Write a development CA and one TLS certificate and key per party (development only: the CA key is written too).")

    @Option(help: "Number of parties; they are named party0, party1, … unless --names is given.")
    var parties: Int?

    @Option(help: "Comma-separated party names (letters, digits, '-').")
    var names: String?

    @Flag(help: "Also write a certificate for the dealer process, named 'dealer'.")
    var withDealer = false

    @Option(help: "Folder to write ca.pem, ca-key.pem, <name>.pem and <name>-key.pem into.")
    var out: String

    func validate() throws {
        guard parties != nil || names != nil else { throw ValidationError("give --parties N or --names a,b,…") }
        if let parties, !(2...16).contains(parties) { throw ValidationError("--parties must lie in 2…16, got \(parties)") }
    }

    func run() throws {
        var list = names.map { $0.split(separator: ",").map(String.init) } ?? (0..<(parties ?? 2)).map { "party\($0)" }
        if let parties, names != nil, list.count != parties {
            throw ValidationError("--names lists \(list.count) names, --parties says \(parties)")
        }
        if withDealer { list.append("dealer") }
        let files = try DevelopmentCertificates.write(names: list, to: out)
        print("\(out)/ca.pem  (CA certificate; its key ca-key.pem is for development only)")
        for name in list { print("\(files[name]!.certificate)  \(files[name]!.privateKey)") }
    }
}

/// `privacy-lab mpc run SPEC --party ID` (or `--dealer`): one party of a networked MPC run.
struct MPCRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one party (or the dealer) of a networked MPC spec over mutually authenticated TLS.")

    @Argument(help: "The run's YAML spec, the same file at every party.")
    var spec: String

    @Option(help: "The party to run (its id in the spec).")
    var party: String?

    @Flag(help: "Run the spec's dealer process instead of a party.")
    var dealer = false

    @Option(help: "Write the output (CSV) here instead of standard output (output parties only).")
    var output: String?

    @Flag(help: "Run every party in this process instead (in memory): the reference result.")
    var inProcess = false

    @Option(help: "Benchmarking: run the job this many times over the same connections (every party the same count), printing each run's cost; the output is the last run's.")
    var repetitions = 1

    func validate() throws {
        let modes = [party != nil, dealer, inProcess].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --party ID, --dealer or --in-process") }
    }

    func run() throws {
        let spec = try MPCSpec.load(self.spec)
        if dealer {
            let report = try MPCNetworkRun.runDealer(spec: spec)
            FileHandle.standardError.write(Data("dealer: served \(report.requests) requests, \(report.bytesSent) bytes\n".utf8))
            return
        }
        if inProcess {
            let results = try MPCNetworkRun.runInProcess(spec: spec)
            if let r = results.first(where: { $0.output != nil }) { try emit(r) }
            return
        }
        let report = try MPCNetworkRun.runParty(spec: spec, id: party!, repetitions: repetitions)
        for c in report.costs {
            FileHandle.standardError.write(Data(String(
                format: "party %@: %d rounds, %d bytes sent, %d offline bytes, %.6f s\n",
                report.party, c.rounds, c.bytesSent, c.offlineBytes, c.seconds).utf8))
        }
        if let s = report.offlineSeconds, let b = report.offlineBytesSent {
            FileHandle.standardError.write(Data(String(
                format: "party %@: dealer-free triples (Paillier): %.3f s, %d bytes sent (included above)\n", report.party, s, b).utf8))
        }
        if report.result.output != nil {
            try emit(report.result)
        } else {
            FileHandle.standardError.write(Data("party \(report.party): done; the output goes to \(spec.output.joined(separator: ", "))\n".utf8))
        }
    }

    private func emit(_ result: MPCJobResult) throws {
        let table = InputTable(columns: result.columns, values: result.output!)
        let text = table.csv()
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                throw ValidationError("cannot write \(output)")
            }
        } else {
            print(text, terminator: "")
        }
    }
}
