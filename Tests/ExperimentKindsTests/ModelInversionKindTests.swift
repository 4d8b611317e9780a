import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Model-inversion experiments")
struct ModelInversionKindTests {
    let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)
    static let gradientSpec = """
    version: 1
    name: inv
    kind: model-inversion
    seed: 2
    data: {dataset: synthetic-patterns, samples_per_class: 10, classes: 4, side: 10}
    attack:
      method: idlg
      network: {architecture: mlp, hidden: [16], activation: sigmoid, init_scale: 0.5}
      batch_size: 1
      victims: 2
      iterations: 80
    """
    static let miFaceSpec = """
    version: 1
    name: mi
    kind: model-inversion
    seed: 3
    data: {dataset: synthetic-patterns, samples_per_class: 15, classes: 4, side: 10}
    model: {architecture: logistic, epochs: 30, batch_size: 16, learning_rate: 0.01}
    attack: {method: mi-face, start: constant, max_iterations: 200, evaluator: {architecture: mlp, hidden: [16], epochs: 30, learning_rate: 0.01}}
    """

    @Test("iDLG trials report PSNR and label accuracy, and the report draws the reconstructions as a PNG")
    func gradientRunAndReport() async throws {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("i.yaml", Self.gradientSpec), options: w.options(jobs: 1))
        let metrics = summary.trials[0].metrics
        #expect((metrics.first { $0.name == "idlg.label_accuracy" }?.value) == 1)
        #expect((metrics.first { $0.name == "idlg.psnr" }?.value ?? 0) > 25)
        let store = try ResultStore(url: w.options(jobs: 1).storeURL)
        let files = try ReportWriter.write(runIDs: [summary.run.id], store: store, to: w.url.appendingPathComponent("report"))
        let png = try #require(files.first { $0.pathExtension == "png" })
        let bytes = try Data(contentsOf: png)
        #expect(Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        let markdown = try String(contentsOf: files[0], encoding: .utf8)
        #expect(markdown.contains("](\(png.lastPathComponent))"))
    }

    @Test("MI-Face trials identify the generated classes with an evaluator of another architecture")
    func miFace() async throws {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("m.yaml", Self.miFaceSpec), options: w.options(jobs: 1))
        let metrics = summary.trials[0].metrics
        #expect((metrics.first { $0.name == "mi_face.top1_accuracy" }?.value ?? 0) >= 0.75)
        #expect((metrics.first { $0.name == "mi_face.targets" }?.value) == 4)
    }

    @Test("specs that ask an attack for what it cannot use are located errors")
    func errors() {
        let cases = [
            (Self.gradientSpec.replacingOccurrences(of: "attack:", with: "model: {architecture: mlp}\nattack:"), "model: is not used by method idlg"),
            (Self.miFaceSpec.replacingOccurrences(of: "evaluator: {architecture: mlp", with: "evaluator: {architecture: logistic"),
             "attack.evaluator: the evaluation classifier must have another architecture"),
            (Self.miFaceSpec.replacingOccurrences(of: "model: {architecture: logistic, epochs: 30, batch_size: 16, learning_rate: 0.01}\n", with: ""),
             "model: is required for method mi-face"),
            (Self.gradientSpec.replacingOccurrences(of: "method: idlg", with: "method: deep-leakage"), "attack.method: unknown value 'deep-leakage'"),
            (Self.gradientSpec.replacingOccurrences(of: "iterations: 80", with: "iterations: 80\n  tv_weight: 1"), "attack.tv_weight: unknown key"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "i.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
