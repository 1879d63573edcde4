import AgentAPI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An agent the run can use: its name (pod name or URL), a client, and the models it lists.
public struct CompareTarget: Sendable {
    public var name: String
    public var client: AgentClient
    public var served: [ModelStatus]

    public init(name: String, client: AgentClient, served: [ModelStatus]) {
        self.name = name
        self.client = client
        self.served = served
    }
}
