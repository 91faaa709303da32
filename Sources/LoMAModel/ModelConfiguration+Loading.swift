import Foundation
import LoMATensorIO

extension ModelConfiguration {
    /// Reads and validates `config.json`, turning decoding failures into errors that name the
    /// file and the JSON field.
    public static func load(from url: URL) throws -> ModelConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LoMAModelError.checkpoint("cannot read \(url.path): \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(ModelConfiguration.self, from: data)
        } catch let error as LoMAModelError {
            throw LoMAModelError.checkpoint(error.message.replacingOccurrences(of: "config.json", with: url.path))
        } catch let DecodingError.keyNotFound(key, context) {
            throw LoMAModelError.checkpoint("\(url.path): missing field '\(fieldPath(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw LoMAModelError.checkpoint("\(url.path): field '\(fieldPath(context.codingPath))' has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.isEmpty ? "" : " at '\(fieldPath(context.codingPath))'"
            throw LoMAModelError.checkpoint("\(url.path): malformed JSON\(field)")
        } catch {
            throw LoMAModelError.checkpoint("\(url.path): \(error)")
        }
    }

    private static func fieldPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
