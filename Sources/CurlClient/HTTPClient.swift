import CCurl
import Foundation

/// Blocking HTTP(S) through libcurl (the only libcurl user in the project): TLS peer and host name
/// always verified, redirects never followed, only http and https.
public struct HTTPClient: Sendable {
    /// The linked libcurl's version string.
    public static var libraryVersion: String { String(cString: curl_version()) }

    /// Seconds the whole exchange may take (connecting: at most 10 of them).
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
        try send(method: "GET", url: url, headers: headers)
    }

    /// Sends `method` to `url` with extra `headers` ("Name: value") and an optional body; returns the
    /// answer whatever its status. Header values are never logged or put in errors.
    public func send(method: String, url: String, headers: [String] = [], body: Data? = nil) throws(CurlError) -> HTTPResponse {
        guard let handle = curl_easy_init() else { throw CurlError(.setup, "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, header) }
        // libcurl sends `Expect: 100-continue` for larger bodies and waits for it; the agent answers at once.
        if body != nil { list = curl_slist_append(list, "Expect:") }
        defer { curl_slist_free_all(list) }

        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw CurlError(.setup, "cannot read the CA file \(caFile)")
        }
        let sink = ResponseSink(limit: maxBodyBytes)
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        let payload = body.map { [UInt8]($0) } ?? []
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let rc: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            payload.withUnsafeBufferPointer { bytes in
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
                    pa_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, box.toOpaque()),
                    pa_curl_setopt_header_function(handle, writeHeader),
                ]
                if method != "GET" { settings.append(pa_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)) }
                if body != nil {
                    settings.append(pa_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)))
                    settings.append(pa_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS,
                                                           UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafePointer(bitPattern: 1))))
                }
                if let caFile { settings.append(pa_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
                if let failed = settings.first(where: { $0 != CURLE_OK }) { return failed }
                return curl_easy_perform(handle)
            }
        }
        if sink.overflowed, let limit = maxBodyBytes {
            throw CurlError(.transport, "\(method) \(url): the answer is larger than \(limit) bytes")
        }
        guard rc == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(rc)) : detail
            throw CurlError(rc == CURLE_OPERATION_TIMEDOUT ? .timeout : .transport, "\(method) \(url): \(message)")
        }
        var status = 0
        _ = pa_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.data)
    }
}

/// Where libcurl's callbacks put the answer while it arrives (one exchange, one thread).
private final class ResponseSink {
    var data = Data()
    var headers: [String: String] = [:]
    let limit: Int?
    var overflowed = false

    init(limit: Int?) { self.limit = limit }

    /// A header line; a status line (an interim 1xx answer, or the final one) starts the set over.
    func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            headers = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

private let writeBody: pa_curl_write_fn = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
    if let limit = sink.limit, sink.data.count + size * count > limit {
        // Returning less than given makes libcurl stop with a write error.
        sink.overflowed = true
        return 0
    }
    sink.data.append(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: size * count)
    return size * count
}

private let writeHeader: pa_curl_write_fn = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
    sink.header(String(decoding: UnsafeRawBufferPointer(start: pointer, count: size * count), as: UTF8.self))
    return size * count
}
