import Testing
import SecretSharing

/// Input that used to trap (a precondition) now throws a named error.
@Suite("Bad arguments throw instead of trapping")
struct InputValidationTests {
    @Test("concatenating tensors whose shapes differ past the first axis throws")
    func concatenateShapes() throws {
        let results = try Party.insecureRunInMemory(partyCount: 2, seed: 1) { p -> String in
            let a = try p.constant([1, 2, 3, 4], shape: [2, 2])
            let b = try p.constant([1, 2, 3], shape: [1, 3])
            do { _ = try p.concatenate([a, b]); return "no error" } catch { return "\(error)" }
        }
        #expect(results[0] == "concatenate: shapes [2, 2] and [1, 3] differ past the first axis")
    }

    @Test("a channel refuses to message itself or a party that does not exist")
    func channelParties() throws {
        let network = InMemoryNetwork(partyCount: 2)
        let channel = network.channel(for: 0)
        #expect(throws: SecretSharingError.invalidArgument("party 0 cannot send to 0")) { try channel.send([1], to: 0) }
        #expect(throws: SecretSharingError.invalidArgument("party 0 cannot receive from 2")) { try channel.receive(from: 2) }
        #expect(throws: SecretSharingError.self) { try InMemoryNetwork.run(partyCount: 1) { _ in 0 } }
        #expect(throws: SecretSharingError.self) { try SocketNetwork(partyCount: 1) }
    }

    @Test("an output receiver that is not a party is refused")
    func revealReceivers() throws {
        let results = try Party.insecureRunInMemory(partyCount: 2, seed: 1) { p -> String in
            let x = try p.constant([1], shape: [1])
            do { _ = try p.reveal(x, to: [0, 5]); return "no error" } catch { return "\(error)" }
        }
        #expect(results[0] == "output receiver 5 is not a party of 2")
        let revealed = try Party.insecureRunInMemory(partyCount: 3, seed: 1) { p -> [Double]? in
            try p.reveal(try p.constant([1.5, -2], shape: [2]), to: [1])
        }
        #expect(revealed[0] == nil && revealed[1] == [1.5, -2] && revealed[2] == nil)
    }
}
