#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error's text for a message: what FoundationEssentials' file errors (`CocoaError`, `POSIXError`)
/// mean, as errno's text ("No such file or directory"); other errors as they describe themselves.
/// (`localizedDescription` needs all of Foundation.)
public func errorText(_ error: any Error) -> String {
    if let posix = error as? POSIXError { return errnoText(posix.code.rawValue) }
    if let cocoa = error as? CocoaError {
        if let posix = cocoa.underlying as? POSIXError { return errnoText(posix.code.rawValue) }
        switch cocoa.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return errnoText(ENOENT)
        case .fileReadNoPermission, .fileWriteNoPermission: return errnoText(EACCES)
        case .fileWriteOutOfSpace: return errnoText(ENOSPC)
        case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding: return "not valid UTF-8"
        default: return "file error \(cocoa.code.rawValue)"
        }
    }
    return "\(error)"
}
