import Tensors

/// Attacks that threshold one signal of the target model, with no reference models: the loss
/// attack (Yeom et al., "Privacy Risk in Machine Learning: Analyzing the Connection to
/// Overfitting", CSF 2018) and the confidence, entropy and modified-entropy attacks (Song and
/// Mittal, USENIX Security 2021).
///
/// The score is the signal, negated when members tend to have smaller values (loss, entropies),
/// so that higher always means "more likely a member". The attacks' published thresholds (the
/// mean training loss, per-class thresholds from shadow data) pick one point of the ROC curve;
/// the evaluation sweeps every threshold instead, which is how TPR at low FPR is reported.
///
/// Caveat: a single global threshold ignores that some examples are harder than others, which
/// is why these attacks are weak at low FPR (Carlini et al. 2022, §III.C).
public enum ThresholdAttack {
    /// Membership scores of each example from the target's logits [N, C].
    /// - Throws: `MembershipInferenceError` as `PredictionSignal.values(logits:labels:)`.
    public static func scores(signal: PredictionSignal, targetLogits: Tensor, labels: [Int]) throws(MembershipInferenceError) -> [Double] {
        let values = try signal.values(logits: targetLogits, labels: labels)
        return signal.increasesWithMembership ? values : values.map { -$0 }
    }
}
