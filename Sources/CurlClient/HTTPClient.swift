import CCurl
import Foundation

/// The CurlClient module's one error type.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case setup, transport, timeout
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A finished HTTP exchange.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: Data
}

/// Blocking HTTP GET through libcurl (the only libcurl user in the project).
public struct HTTPClient: Sendable {
    /// The linked libcurl's version string.
    public static var libraryVersion: String { String(cString: curl_version()) }

    public var timeout: Int
    /// A PEM file of certificates to trust for https instead of the system's CA bundle (a private CA, or a
    /// self-signed server certificate); nil keeps the system's. Peer and host name are verified either way.
    public var caFile: String?
    /// The largest body accepted; a longer answer is an error (nothing partial is returned). nil: no limit.
    public var maxBodyBytes: Int?

    public init(timeoutSeconds: Int = 30, caFile: String? = nil, maxBodyBytes: Int? = nil) {
        timeout = timeoutSeconds
        self.caFile = caFile
        self.maxBodyBytes = maxBodyBytes
    }

    /// GETs `url` with extra `headers` ("Name: value"); header values are never logged.
    public func get(_ url: String, headers: [String] = []) throws(CurlError) -> HTTPResponse {
        guard let handle = curl_easy_init() else { throw CurlError(.setup, "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw CurlError(.setup, "cannot read the CA file \(caFile)")
        }
        let sink = BodySink(limit: maxBodyBytes)
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let rc: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            var settings: [CURLcode] = [
                pa_curl_setopt_string(handle, CURLOPT_URL, url),
                // Only HTTP(S), and TLS always verified (these are libcurl's defaults, stated so no build changes them).
                pa_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
                pa_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1),
                pa_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2),
                pa_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list),
                pa_curl_setopt_long(handle, CURLOPT_TIMEOUT, timeout),
                pa_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, min(timeout, 10)),
                pa_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
                pa_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0),
                pa_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress),
                pa_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, box.toOpaque()),
                pa_curl_setopt_write_function(handle, writeBody),
            ]
            if let caFile { settings.append(pa_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
            if let failed = settings.first(where: { $0 != CURLE_OK }) { return failed }
            return curl_easy_perform(handle)
        }
        if sink.overflowed, let limit = maxBodyBytes {
            throw CurlError(.transport, "GET \(url): the answer is larger than \(limit) bytes")
        }
        guard rc == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(rc)) : detail
            throw CurlError(rc == CURLE_OPERATION_TIMEDOUT ? .timeout : .transport, "GET \(url): \(message)")
        }
        var status = 0
        _ = pa_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, body: sink.data)
    }
}

private final class BodySink {
    var data = Data()
    let limit: Int?
    var overflowed = false

    init(limit: Int?) { self.limit = limit }
}

private let writeBody: pa_curl_write_fn = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let sink = Unmanaged<BodySink>.fromOpaque(userdata).takeUnretainedValue()
    if let limit = sink.limit, sink.data.count + size * count > limit {
        // Returning less than given makes libcurl stop with a write error.
        sink.overflowed = true
        return 0
    }
    sink.data.append(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: size * count)
    return size * count
}
