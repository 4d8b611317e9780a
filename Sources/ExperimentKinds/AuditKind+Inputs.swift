import Codecs
import ExperimentSpecs
import Foundation
import MembershipInference

/// An audit's input arrays, read and checked: every problem is one `AuditInputError` naming the
/// file and the key, raised before any attack runs.
struct AuditInputs {
    typealias Field = AuditKind.Field

    let signals: AuditSignals
    let present: Set<Field>
    /// Where each field was read from (a path, or `archive.npz[name]`), for messages.
    let sources: [Field: String]
    /// How many reference models have each audited record IN (empty without references).
    let inCounts: [Int]
    /// The same for the population records.
    let populationInCounts: [Int]

    func source(of field: Field) -> String { sources[field] ?? "(not given)" }

    /// One array as read, with where it came from.
    struct Source {
        let field: Field
        let path: String
        let array: NumpyArray

        func error(_ message: String) -> AuditInputError { AuditInputError(file: path, field: field.rawValue, message: message) }
        var shapeText: String { array.shape.count == 1 ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")" }
    }

    // MARK: - Reading

    static func load(_ files: AuditKind.SignalFiles) throws(AuditInputError) -> AuditInputs {
        var archive: NumpyArchive?
        var present = Set(files.files.keys)
        if let url = files.archive {
            do {
                let bytes = try InputFile.read(url, maximumBytes: AuditKind.maximumFileBytes)
                archive = try NumpyArchive(npz: bytes, maximumMemberBytes: AuditKind.maximumFileBytes)
            } catch let error as InputFileError {
                throw AuditInputError(file: url.path, field: "archive", message: error.reason)
            } catch let error as NumpyError {
                throw AuditInputError(file: url.path, field: "archive", message: error.reason)
            } catch {
                throw AuditInputError(file: url.path, field: "archive", message: "\(error)")
            }
            for name in archive!.names {
                guard let field = Field(rawValue: name) else {
                    var message = "the archive member '\(name)' is not a signal name"
                    if let suggestion = closestMatch(name, among: Field.allCases.map(\.rawValue)) { message += " (did you mean '\(suggestion)'?)" }
                    message += "; known names: \(Field.allCases.map(\.rawValue).joined(separator: ", "))"
                    throw AuditInputError(file: url.path, field: "archive", message: message)
                }
                present.insert(field)
            }
            do { try AuditKind.checkFields(present) } catch {
                throw AuditInputError(file: url.path, field: error.key, message: "\(error.message) (neither a file nor an archive member)")
            }
        }
        func read(_ field: Field) throws(AuditInputError) -> Source? {
            guard present.contains(field) else { return nil }
            if let url = files.files[field] {
                let bytes: [UInt8]
                do { bytes = try InputFile.read(url, maximumBytes: AuditKind.maximumFileBytes) } catch {
                    throw AuditInputError(file: url.path, field: field.rawValue, message: error.reason)
                }
                return try decode(bytes, field: field, path: url.path)
            }
            let path = "\(files.archive!.path)[\(field.rawValue)]"
            let bytes: [UInt8]
            do throws(NumpyError) {
                guard let member = archive!.member(named: field.rawValue) else {
                    throw NumpyError(.missingMember, "the archive has no array '\(field.rawValue)'")
                }
                bytes = try archive!.memberBytes(member)
            } catch {
                throw AuditInputError(file: path, field: field.rawValue, message: error.reason)
            }
            return try decode(bytes, field: field, path: path)
        }
        /// The array, its element count checked (from the header) before it is decoded.
        func decode(_ bytes: [UInt8], field: Field, path: String) throws(AuditInputError) -> Source {
            do throws(NumpyError) {
                let header = try bytes.withUnsafeBytes { raw in Result { () throws(NumpyError) -> NumpyArray.Header in try NumpyArray.header(npy: raw) } }.get()
                guard header.count <= AuditKind.maximumElements else {
                    throw NumpyError(.tooLarge, "shape \(header.shape) holds \(header.count) elements, more than the \(AuditKind.maximumElements) an audit reads from one array")
                }
                return Source(field: field, path: path, array: try NumpyArray(npy: bytes))
            } catch {
                var message = error.reason
                if error.kind == .notNumpy, bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
                    message += "; this is a zip archive (an .npz?): name it as signals.archive"
                }
                throw AuditInputError(file: path, field: field.rawValue, message: message)
            }
        }
        func first(_ fields: [Field]) throws(AuditInputError) -> Source? {
            for field in fields { if let found = try read(field) { return found } }
            return nil
        }

        guard let labelsSource = try read(.labels), let membersSource = try read(.members),
              let targetSource = try first(Field.targets) else {
            throw AuditInputError(file: files.archive?.path ?? "spec", field: "signals", message: "labels, members and a target output are required")
        }
        var sources: [Field: String] = [:]
        // Records, from the labels.
        guard labelsSource.array.shape.count == 1 else {
            throw labelsSource.error("expected a 1-D array (N,) of labels, got shape \(labelsSource.shapeText)")
        }
        let n = labelsSource.array.shape[0]
        guard n >= 2 else { throw labelsSource.error("the audit needs at least 2 records, got \(n)") }
        let target = try outputs(targetSource, modelAxis: false, records: n, recordsFrom: labelsSource)
        let classCount = target.form == .losses ? nil : target.classCount

        let referenceSource = try first(Field.references)
        let references = try referenceSource.map { source throws(AuditInputError) in
            try outputs(source, modelAxis: true, records: n, recordsFrom: labelsSource)
        }
        if let references, let referenceSource {
            guard references.queryCount == target.queryCount else {
                throw referenceSource.error("holds \(references.queryCount) query views per record; \(targetSource.field.rawValue) (\(targetSource.path)) holds \(target.queryCount)")
            }
            if let classCount, references.form != .losses, references.classCount != classCount {
                throw referenceSource.error("has \(references.classCount) classes (shape \(referenceSource.shapeText)); \(targetSource.field.rawValue) (\(targetSource.path)) has \(classCount)")
            }
        }
        let classes = classCount ?? (references.flatMap { $0.form == .losses ? nil : $0.classCount })
        let labels = try labelValues(labelsSource, classes: classes, classSource: classCount != nil ? targetSource : referenceSource)

        // Ground truth.
        guard membersSource.array.shape == [n] else {
            throw membersSource.error("expected shape (\(n),) — one 0/1 per record of \(labelsSource.path) — got \(membersSource.shapeText)")
        }
        let isMember: [Bool]
        do { isMember = try membersSource.array.booleans() } catch { throw membersSource.error("a membership mask must be 0/1: \(error.reason)") }
        let memberCount = isMember.filter { $0 }.count
        guard memberCount > 0, memberCount < n else {
            throw membersSource.error("all \(n) records are \(memberCount > 0 ? "members" : "non-members"); an audit needs both members and non-members")
        }

        var membership: MembershipMatrix?
        var inCounts: [Int] = []
        if let references {
            guard let source = try read(.referenceMembers) else {
                throw AuditInputError(file: referenceSource!.path, field: Field.referenceMembers.rawValue, message: "is required with reference outputs")
            }
            membership = try mask(source, models: references.modelCount, records: n, modelsFrom: referenceSource!, recordsFrom: labelsSource)
            inCounts = Self.inCounts(membership!)
            sources[.referenceMembers] = source.path
        }

        // Population records for RMIA.
        var population: AuditSignals.PopulationSignals?
        var populationInCounts: [Int] = []
        if let populationLabels = try read(.populationLabels), let references, let referenceSource {
            guard populationLabels.array.shape.count == 1, populationLabels.array.shape[0] >= 1 else {
                throw populationLabels.error("expected a 1-D array (Z,) of at least one label, got shape \(populationLabels.shapeText)")
            }
            let z = populationLabels.array.shape[0]
            let zLabels = try labelValues(populationLabels, classes: classes, classSource: classCount != nil ? targetSource : referenceSource)
            let populationTargetSource = try first(Field.populationTargets)!
            let populationReferenceSource = try first(Field.populationReferences)!
            let populationTarget = try outputs(populationTargetSource, modelAxis: false, records: z, recordsFrom: populationLabels)
            let populationReferences = try outputs(populationReferenceSource, modelAxis: true, records: z, recordsFrom: populationLabels)
            guard populationTarget.form == target.form, populationTarget.queryCount == target.queryCount,
                  populationTarget.classCount == target.classCount else {
                throw populationTargetSource.error("must have the form, query views and classes of \(targetSource.field.rawValue) (\(targetSource.path)): got \(populationTarget.form.rawValue) of shape \(populationTargetSource.shapeText)")
            }
            guard populationReferences.form == references.form, populationReferences.modelCount == references.modelCount,
                  populationReferences.queryCount == references.queryCount, populationReferences.classCount == references.classCount else {
                throw populationReferenceSource.error("must have the form, models, query views and classes of \(referenceSource.field.rawValue) (\(referenceSource.path)): got \(populationReferences.form.rawValue) of shape \(populationReferenceSource.shapeText)")
            }
            let zMembership: MembershipMatrix
            if let source = try read(.populationReferenceMembers) {
                zMembership = try mask(source, models: references.modelCount, records: z, modelsFrom: referenceSource, recordsFrom: populationLabels)
                sources[.populationReferenceMembers] = source.path
            } else {
                zMembership = MembershipMatrix(modelCount: references.modelCount, exampleCount: z,
                                               bits: [Bool](repeating: false, count: references.modelCount * z))
            }
            populationInCounts = Self.inCounts(zMembership)
            do {
                population = try AuditSignals.PopulationSignals(labels: zLabels, target: populationTarget, references: populationReferences,
                                                                referenceMembership: zMembership)
            } catch {
                throw populationLabels.error("\(error)")
            }
            for source in [populationLabels, populationTargetSource, populationReferenceSource] { sources[source.field] = source.path }
        }

        // Shadow models of Shokri et al.'s setting.
        var shadows: AuditSignals.ShadowSignals?
        if let shadowLabels = try read(.shadowLabels) {
            guard shadowLabels.array.shape.count == 1, shadowLabels.array.shape[0] >= 2 else {
                throw shadowLabels.error("expected a 1-D array (M,) of at least two labels, got shape \(shadowLabels.shapeText)")
            }
            let m = shadowLabels.array.shape[0]
            let outputsSource = try first(Field.shadows)!
            let outputs = try outputs(outputsSource, modelAxis: true, records: m, recordsFrom: shadowLabels)
            guard outputs.classCount == target.classCount, outputs.queryCount == target.queryCount else {
                throw outputsSource.error("has \(outputs.classCount) classes and \(outputs.queryCount) query views (shape \(outputsSource.shapeText)); \(targetSource.field.rawValue) (\(targetSource.path)) has \(target.classCount) and \(target.queryCount)")
            }
            let mLabels = try labelValues(shadowLabels, classes: classCount, classSource: targetSource)
            guard let membersSource = try read(.shadowMembers) else {
                throw outputsSource.error("shadow_members is required with shadow outputs")
            }
            let shadowMembership = try mask(membersSource, models: outputs.modelCount, records: m, modelsFrom: outputsSource, recordsFrom: shadowLabels)
            let shadowIn = Self.inCounts(shadowMembership)
            guard shadowIn.contains(where: { $0 > 0 }), shadowIn.contains(where: { $0 < outputs.modelCount }) else {
                throw membersSource.error("every shadow observation is \(shadowIn.allSatisfy { $0 > 0 } ? "IN" : "OUT"); the attack models need both")
            }
            do {
                shadows = try AuditSignals.ShadowSignals(labels: mLabels, outputs: outputs, membership: shadowMembership)
            } catch {
                throw outputsSource.error("\(error)")
            }
            for source in [shadowLabels, outputsSource, membersSource] { sources[source.field] = source.path }
        }

        let signals: AuditSignals
        do {
            signals = try AuditSignals(labels: labels, isMember: isMember, target: target, references: references,
                                       referenceMembership: membership, population: population, shadows: shadows)
        } catch {
            throw targetSource.error("\(error)")
        }
        for source in [labelsSource, membersSource, targetSource] + (referenceSource.map { [$0] } ?? []) { sources[source.field] = source.path }
        return AuditInputs(signals: signals, present: present, sources: sources, inCounts: inCounts, populationInCounts: populationInCounts)
    }

    /// Outputs of one model ([records, (queries,) classes]) or of K models (a leading axis),
    /// checked against their form: finite; probabilities in [0, 1] with rows summing to 1;
    /// losses ≥ 0.
    static func outputs(_ s: Source, modelAxis: Bool, records: Int, recordsFrom labels: Source) throws(AuditInputError) -> PredictionOutputs {
        let form = s.field.form!
        var dims = s.array.shape
        let models = modelAxis ? (dims.isEmpty ? 0 : dims.removeFirst()) : 1
        let perRecord = form == .losses ? [1, 2] : [2, 3]
        let lead = modelAxis ? "K, " : ""
        let expected = form == .losses ? "(\(lead)N,) or (\(lead)N, Q)" : "(\(lead)N, C) or (\(lead)N, Q, C)"
        guard perRecord.contains(dims.count) else {
            throw s.error("expected \(form.rawValue) of shape \(expected.replacingOccurrences(of: "(,)", with: "")), got \(s.shapeText)")
        }
        guard dims[0] == records else {
            throw s.error("has \(dims[0]) records along axis \(modelAxis ? 1 : 0) (shape \(s.shapeText)); \(labels.field.rawValue) (\(labels.path)) has \(records)")
        }
        guard models >= 1 else { throw s.error("holds no models (shape \(s.shapeText))") }
        let queries = dims.count == perRecord[1] ? dims[1] : 1
        guard queries >= 1 else { throw s.error("holds no query views (shape \(s.shapeText))") }
        let classes = form == .losses ? 1 : dims[dims.count - 1]
        if form != .losses && classes < 2 { throw s.error("needs at least 2 classes along the last axis, got shape \(s.shapeText)") }
        let values = s.array.doubles()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw s.error("element \(s.array.position(ofElement: bad)) is \(values[bad]); \(form.rawValue) must be finite")
        }
        switch form {
        case .logits:
            break
        case .probabilities:
            if let bad = values.firstIndex(where: { $0 < 0 || $0 > 1 }) {
                throw s.error("element \(s.array.position(ofElement: bad)) is \(values[bad]); probabilities lie in [0, 1] (were logits given as probabilities?)")
            }
            let tolerance = s.array.dataType == .float16 ? 1e-2 : 1e-3
            var badRow: (Int, Double)?
            values.withUnsafeBufferPointer { v in
                for row in 0..<(values.count / classes) {
                    var total = 0.0
                    for j in 0..<classes { total += v[row * classes + j] }
                    if abs(total - 1) > tolerance {
                        badRow = (row, total)
                        return
                    }
                }
            }
            if let (row, total) = badRow {
                throw s.error("the probabilities \(s.array.position(ofElement: row * classes).dropLast(2)):] sum to \(total), not 1 (tolerance \(tolerance))")
            }
        case .losses:
            if let bad = values.firstIndex(where: { $0 < 0 }) {
                throw s.error("element \(s.array.position(ofElement: bad)) is \(values[bad]); a cross-entropy loss −log p_y is ≥ 0")
            }
        }
        do {
            return try PredictionOutputs(form: form, modelCount: models, recordCount: records, queryCount: queries,
                                         classCount: classes, values: values)
        } catch {
            throw s.error("\(error)")
        }
    }

    /// Labels: integers in 0..<classes (≥ 0 when no class count is known).
    static func labelValues(_ s: Source, classes: Int?, classSource: Source?) throws(AuditInputError) -> [Int] {
        let labels: [Int]
        do { labels = try s.array.integers() } catch { throw s.error("labels must be integers: \(error.reason)") }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= (classes ?? Int.max) }) {
            if let classes, let classSource {
                throw s.error("element \(s.array.position(ofElement: bad)) is \(labels[bad]), outside the \(classes) classes 0…\(classes - 1) of \(classSource.field.rawValue) (\(classSource.path))")
            }
            throw s.error("element \(s.array.position(ofElement: bad)) is \(labels[bad]); labels are ≥ 0")
        }
        return labels
    }

    /// A (K, N) 0/1 membership mask.
    static func mask(_ s: Source, models: Int, records: Int, modelsFrom: Source, recordsFrom: Source) throws(AuditInputError) -> MembershipMatrix {
        guard s.array.shape == [models, records] else {
            throw s.error("expected shape (\(models), \(records)) — \(models) models as in \(modelsFrom.field.rawValue) (\(modelsFrom.path)), \(records) records as in \(recordsFrom.field.rawValue) — got \(s.shapeText)")
        }
        do {
            return MembershipMatrix(modelCount: models, exampleCount: records, bits: try s.array.booleans())
        } catch {
            throw s.error("a membership mask must be 0/1: \(error.reason)")
        }
    }

    static func inCounts(_ membership: MembershipMatrix) -> [Int] {
        var counts = [Int](repeating: 0, count: membership.exampleCount)
        membership.bits.withUnsafeBufferPointer { bits in
            for m in 0..<membership.modelCount {
                for i in 0..<membership.exampleCount where bits[m * membership.exampleCount + i] { counts[i] += 1 }
            }
        }
        return counts
    }

    // MARK: - Checks per method

    /// Checks that every record has the reference models `method` needs: LiRA at least one OUT
    /// (online also one IN); offline RMIA one OUT per audited and per population record.
    func checkReferenceCounts(for method: AuditKind.MethodName) throws(AuditInputError) {
        guard let membership = signals.referenceMembership else { return }
        let k = membership.modelCount
        let online = method == .lira || method == .liraGlobal
        let needsOut = online || method == .liraOffline || method == .liraOfflineGlobal || method == .rmiaOffline
        let file = source(of: .referenceMembers), field = Field.referenceMembers.rawValue
        let fallback = method == .rmiaOffline ? "" : " (a record with one model on a side uses the global variance for that side)"
        if needsOut, let i = inCounts.firstIndex(of: k) {
            throw AuditInputError(file: file, field: field, message: "record \(i) is IN for all \(k) reference models; \(method.rawValue) needs at least one OUT model per record\(fallback)")
        }
        if online, let i = inCounts.firstIndex(of: 0) {
            throw AuditInputError(file: file, field: field, message: "record \(i) is IN for none of the \(k) reference models; \(method.rawValue) (online) needs at least one IN model per record\(fallback); lira_offline needs none")
        }
        if method == .rmiaOffline, signals.population != nil, let z = populationInCounts.firstIndex(of: k) {
            throw AuditInputError(file: source(of: .populationReferenceMembers), field: Field.populationReferenceMembers.rawValue,
                                  message: "population record \(z) is IN for all \(k) reference models; rmia_offline needs at least one OUT model per population record")
        }
    }

    /// The target's accuracy (first query view) on the members and on the non-members; nil
    /// for losses.
    func targetAccuracy() -> (members: Double, nonMembers: Double)? {
        let target = signals.target
        guard target.form != .losses else { return nil }
        let (c, q) = (target.classCount, target.queryCount)
        var correct = [0, 0], total = [0, 0]
        target.values.withUnsafeBufferPointer { v in
            for i in 0..<target.recordCount {
                let base = i * q * c
                var best = 0
                for j in 1..<c where v[base + j] > v[base + best] { best = j }
                let side = signals.isMember[i] ? 0 : 1
                total[side] += 1
                if best == signals.labels[i] { correct[side] += 1 }
            }
        }
        return (Double(correct[0]) / Double(total[0]), Double(correct[1]) / Double(total[1]))
    }
}
