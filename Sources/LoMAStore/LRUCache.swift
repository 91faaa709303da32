/// Byte-budgeted least-recently-used cache of encoded segments, as an intrusive doubly linked
/// list over a dictionary so lookups, touches and evictions are all O(1).
struct LRUCache<Key: Hashable> {
    private struct Node {
        var value: [UInt8]
        var newer: Key?
        var older: Key?
    }

    private var nodes: [Key: Node] = [:]
    private var newest: Key?
    private var oldest: Key?
    private(set) var bytes = 0
    let capacityBytes: Int

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    var count: Int { nodes.count }

    /// The cached value, marked as most recently used.
    mutating func value(for key: Key) -> [UInt8]? {
        guard let value = nodes[key]?.value else { return nil }
        unlink(key)
        linkAsNewest(key)
        return value
    }

    func contains(_ key: Key) -> Bool { nodes[key] != nil }

    /// The cached value without changing the order (for digests and stats, which must not look
    /// like use).
    func peek(_ key: Key) -> [UInt8]? { nodes[key]?.value }

    /// Caches `value` and evicts least recently used entries until the budget holds again.
    /// A value larger than the whole budget is not cached. Returns how many entries were evicted.
    @discardableResult
    mutating func insert(_ value: [UInt8], for key: Key) -> Int {
        remove(key)
        guard value.count <= capacityBytes else { return 0 }
        nodes[key] = Node(value: value)
        bytes += value.count
        linkAsNewest(key)
        var evicted = 0
        while bytes > capacityBytes, let victim = oldest {
            remove(victim)
            evicted += 1
        }
        return evicted
    }

    mutating func remove(_ key: Key) {
        guard let node = nodes[key] else { return }
        unlink(key)
        bytes -= node.value.count
        nodes[key] = nil
    }

    private mutating func unlink(_ key: Key) {
        guard let node = nodes[key] else { return }
        if let newer = node.newer { nodes[newer]?.older = node.older } else { newest = node.older }
        if let older = node.older { nodes[older]?.newer = node.newer } else { oldest = node.newer }
        nodes[key]?.newer = nil
        nodes[key]?.older = nil
    }

    private mutating func linkAsNewest(_ key: Key) {
        nodes[key]?.older = newest
        nodes[key]?.newer = nil
        if let newest { nodes[newest]?.newer = key }
        newest = key
        if oldest == nil { oldest = key }
    }
}
