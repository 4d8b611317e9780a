import LabRandom

// MARK: - A design around a target trained elsewhere

extension MembershipDesign {
    /// Draws a design around a target whose training set is given (`isMember`, one flag per
    /// population example): a model trained outside the lab, audited with reference models
    /// trained in it.
    ///
    /// The audited members are `targetMemberCount` examples drawn uniformly from those with
    /// `isMember` true, the audited non-members `targetNonMemberCount` drawn from those with it
    /// false; every other example (members and non-members of the target alike) forms the
    /// reference pool. The masks are `MembershipMasks.balanced` over the whole population
    /// (online) or the pool (offline), as in `make`.
    ///
    /// Unlike `make`'s, `targetMembers` lists only the *audited* members: the target's training
    /// set is `isMember`, and the pool may hold members of it that are not audited (RMIA then
    /// draws some of its population sample z from the target's training set; the offline
    /// references may train on them).
    ///
    /// Draws, in order: a sample of the members, a sample of the non-members, then the masks.
    /// - Precondition: the counts fit in the members and non-members of `isMember`, and
    ///   `referenceModels ≥ 1` (callers check input before).
    /// - Complexity: O(N · referenceModels / 64 + N) for N examples.
    public static func auditing(
        knownMembership isMember: [Bool], targetMemberCount: Int, targetNonMemberCount: Int, referenceModels: Int, online: Bool,
        using random: inout LabRandom
    ) -> MembershipDesign {
        let inside = isMember.indices.filter { isMember[$0] }
        let outside = isMember.indices.filter { !isMember[$0] }
        precondition(targetMemberCount >= 0 && targetMemberCount <= inside.count,
                     "MembershipDesign: \(targetMemberCount) audited members, but the target has \(inside.count)")
        precondition(targetNonMemberCount >= 0 && targetNonMemberCount <= outside.count,
                     "MembershipDesign: \(targetNonMemberCount) audited non-members, but only \(outside.count) examples are outside the target")
        precondition(referenceModels >= 1, "MembershipDesign: need at least one reference model")
        let members = random.sampleWithoutReplacement(targetMemberCount, from: inside.count).map { inside[$0] }.sorted()
        let nonMembers = random.sampleWithoutReplacement(targetNonMemberCount, from: outside.count).map { outside[$0] }.sorted()
        var audited = [Bool](repeating: false, count: isMember.count)
        for i in members + nonMembers { audited[i] = true }
        let pool = isMember.indices.filter { !audited[$0] }
        let universe = online ? Array(isMember.indices) : pool
        let masks = MembershipMasks.balanced(modelCount: referenceModels, examples: universe, using: &random)
        return MembershipDesign(populationSize: isMember.count, targetMembers: members, targetNonMembers: nonMembers,
                                referencePool: pool, online: online, referenceMasks: masks)
    }
}
