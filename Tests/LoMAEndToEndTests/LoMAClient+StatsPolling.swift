import LoMAClient
import LoMAProtocol

extension LoMAClient {
    /// Stats, asked every 50 ms until `done` holds (at most 30 s), for figures the daemon updates
    /// in the background, such as connections libzmq closes or reply bytes it releases.
    func stats(until done: (Loma_V1_StatsReply) -> Bool) async throws -> Loma_V1_StatsReply {
        var stats = try await self.stats()
        for _ in 0..<600 where !done(stats) {
            try await Task.sleep(for: .milliseconds(50))
            stats = try await self.stats()
        }
        return stats
    }
}
