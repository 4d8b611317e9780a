// python-paillier's JSON: public keys, private keys and encrypted numbers. The first byte picks
// which; encrypted numbers are read for a fixed small key and decrypted. Short keys are allowed
// (`insecureAllowingShortKeys`) so the fuzzer reaches the checks past the size policy quickly.
import Foundation
import FuzzSupport
import PrivacyLab

/// A fixed key of two Mersenne primes, 2^89 − 1 and 2^107 − 1 (a 196-bit n: for fuzzing only).
let fixedKey: PaillierPrivateKey = {
    let one = BigInteger(1)
    let p = (one << 89) - one, q = (one << 107) - one
    return try! PaillierPrivateKey(p: p, q: q, sizePolicy: .insecureAllowingShortKeys)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPhe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let mode = input.takeByte() % 3
    let bytes = Data(input.bytes)
    switch mode {
    case 0: _ = try? PheJSON.publicKey(from: bytes, sizePolicy: .insecureAllowingShortKeys)
    case 1: _ = try? PheJSON.privateKey(from: bytes, sizePolicy: .insecureAllowingShortKeys)
    default:
        guard let number = try? PheJSON.encryptedNumber(from: bytes, publicKey: fixedKey.publicKey) else { return 0 }
        _ = try? fixedKey.decrypt(number)
        _ = try? fixedKey.decryptDouble(number)
    }
    return 0
}
