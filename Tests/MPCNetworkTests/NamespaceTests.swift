import Foundation
import NetworkTestSupport
import MPCNetwork
import Testing

@Suite("MPC parties in two network namespaces over a veth pair", .serialized,
       .enabled(if: NamespacePair.unavailableReason == nil,
                Comment(rawValue: "network namespaces unavailable: \(NamespacePair.unavailableReason ?? "")")))
struct NamespaceTests {
    @Test("logistic regression between two namespaces over a veth pair: bit for bit the in-process result")
    func twoHosts() throws {
        let w = try Workspace()
        let pair = try NamespacePair()
        defer { pair.remove() }
        let (status, _, errors) = try ProcessTests.run(["mpc", "certs", "--names", "alice,bob", "--out", w.path + "/certs"])
        #expect(status == 0, "\(errors)")
        let data = ProcessTests.table(rows: 40, features: 3, seed: 12)
        try w.write("alice.csv", ProcessTests.split(data, rows: 0..<20))
        try w.write("bob.csv", ProcessTests.split(data, rows: 20..<40))
        let path = try w.write("spec.yaml", """
            version: 1
            ca: certs/ca.pem
            parties:
              - {id: alice, address: "\(pair.addresses[0]):7101", certificate: certs/alice.pem, key: certs/alice-key.pem, input: alice.csv}
              - {id: bob, address: "\(pair.addresses[1]):7102", certificate: certs/bob.pem, key: certs/bob-key.pem, input: bob.csv}
            task: {kind: logistic-regression, split: rows, label: label, epochs: 1, batch-size: 10}
            output: [alice, bob]
            correlations: {source: insecure-shared-seed, seed: 3}
            insecure-mask-seed: 11
            limits: {connect-timeout: 20, receive-timeout: 20}

            """)
        let children = try ["alice", "bob"].enumerated().map { i, id in
            try ProcessTests.Child(["netns", "exec", pair.names[i], ProcessTests.executable, "mpc", "run", path, "--party", id],
                                   in: w.path, name: id, executable: NamespacePair.ip!)
        }
        let results = children.map { $0.finish(within: 25) }
        for (c, r) in zip(children, results) { #expect(r.status == 0 && r.finished, "\(c.errors)") }
        let expected = try MPCNetworkRun.runInProcess(spec: MPCSpec.load(path))
        for (i, c) in children.enumerated() {
            #expect(try InputTable.parse(c.output, file: "out").values == expected[i].output)
        }
    }
}
