import AttackMetrics
import Datasets
import Foundation
import LabRandom
import Testing

@Suite("Membership designs around a known target")
struct KnownTargetDesignTests {
    /// A mask with 300 of 1000 records IN, spread unevenly.
    static let isMember: [Bool] = (0..<1000).map { ($0 * 7919) % 10 < 3 }

    @Test("audited members come from the target's members, non-members from the rest; the pool is every other record; the save/load laws hold")
    func laws() throws {
        var random = LabRandom(seed: 3).stream("design")
        for (online, models) in [(true, 4), (true, 7), (false, 6)] {
            let d = MembershipDesign.auditing(knownMembership: Self.isMember, targetMemberCount: 120, targetNonMemberCount: 350,
                                              referenceModels: models, online: online, using: &random)
            #expect(d.targetMembers.count == 120 && d.targetNonMembers.count == 350)
            #expect(d.targetMembers.allSatisfy { Self.isMember[$0] } && d.targetNonMembers.allSatisfy { !Self.isMember[$0] })
            #expect(d.targetMembers == d.targetMembers.sorted() && d.targetNonMembers == d.targetNonMembers.sorted())
            let audited = Set(d.targetMembers + d.targetNonMembers)
            #expect(audited.count == 470)
            #expect(d.referencePool == (0..<1000).filter { !audited.contains($0) })
            #expect(d.referenceMasks.examples == (online ? Array(0..<1000) : d.referencePool))
            for column in d.referenceMasks.examples.indices {
                let k = d.referenceMasks.inCount(column: column)
                #expect(k == models / 2 || k == (models + 1) / 2)
            }
            // The design is a MembershipDesign like any other: it saves and loads.
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("known-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: url) }
            try d.save(to: url)
            #expect(try MembershipDesign.load(from: url) == d)
        }
    }

    @Test("the same stream gives the same design; another seed another sample")
    func deterministic() {
        func draw(_ seed: UInt64) -> MembershipDesign {
            var random = LabRandom(seed: seed).stream("design")
            return MembershipDesign.auditing(knownMembership: Self.isMember, targetMemberCount: 150, targetNonMemberCount: 350,
                                             referenceModels: 4, online: true, using: &random)
        }
        #expect(draw(1) == draw(1))
        #expect(draw(1).targetMembers != draw(2).targetMembers)
    }
}
