import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab store keygen --out FILE | info`: keys for encrypting a results store at rest.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Keys that encrypt a results store's artifacts at rest, and a store's encryption.",
        discussion: "A new store opened with a key (--store-key-file FILE, or $\(StoreKey.environmentVariable)) keeps every artifact (model checkpoints, score arrays) sealed with AES-256-GCM; it opens only with that key afterwards.",
        subcommands: [Keygen.self, Info.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new random 256-bit store key (64 hex digits) to a new file of mode 0600.")
        @Option(help: ArgumentHelp("The key file to create; an existing file is never replaced.", valueName: "file")) var out: String

        func run() throws {
            do { try StoreKey.generate(writingTo: URL(fileURLWithPath: out)) } catch { throw CLIError(error.description) }
            print("wrote a new store key to \(out) (mode 0600); give it with --store-key-file to a new --store. "
                  + "Keep it apart from the store, and keep a copy: without it the store's artifacts cannot be read.")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether a store's artifacts are encrypted at rest.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "Print a JSON object.") var json = false

        func run() throws {
            let store = try storeOptions.openReadOnly()
            if json {
                printJSON(["store": store.url.path, "encrypted": store.isEncrypted])
            } else {
                print("\(store.url.path): artifacts " + (store.isEncrypted ? "encrypted at rest (AES-256-GCM); the key given unlocks it" : "not encrypted"))
            }
        }
    }
}
