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

/// `report.html`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched).
public enum ReportHTML {
    /// Radar axes, each scored 0..1 with 1 the best among the models (see docs/compare.md).
    static let radarAxes = ["speed (1/p50)", "GPU memory (1/peak)", "success rate", "outputs/sample", "agreement @2 m / 1 m"]

    public static func render(_ report: CompareReport) -> String {
        let e = SVG.escape
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>Model comparison: \(e(report.models.joined(separator: ", ")))</title>
            <style>
            body{font-family:sans-serif;margin:24px;color:#222}
            table{border-collapse:collapse;margin:8px 0 20px}
            th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px}
            th:first-child,td:first-child{text-align:left}
            th{background:#f0f0f0}
            .charts{display:flex;flex-wrap:wrap;gap:16px}
            .failed{color:#b00}
            h2{margin-top:28px}
            </style></head><body>
            <h1>Model comparison</h1>
            <p>\(report.samples.count) samples × \(report.models.count) models, by \(e(report.tool)), \(e(report.generatedAt)).</p>

            """
        html += summaryTable(report)
        html += "<h2>Metrics</h2><div class=\"charts\" id=\"bars\">"
        for chart in barCharts(report) { html += chart }
        html += "</div>"
        html += "<h2>Across models</h2><div id=\"radar\">"
        html += SVG.radar(axes: radarAxes, series: report.perModel.map { ($0.model, radarScores(report, model: $0.model)) })
        html += "</div><p>Each axis is scaled so the best model scores 1; a model with no data on an axis scores 0.</p>"
        html += agreementTable(report)
        html += "<h2>Bird's-eye view</h2>"
        if let view = report.birdsEye {
            html += "<p>Sample <code>\(e(view.sample))</code>, every model's output in the LiDAR frame (metres).</p><div id=\"bev\">"
            html += SVG.birdsEye(view) + "</div>"
        } else {
            html += "<p>No sample was answered by any model.</p>"
        }
        html += failureList(report)
        return html + "</body></html>\n"
    }

    static func ms(_ seconds: Double?) -> String { seconds.map { SVG.number($0 * 1000) } ?? "n/a" }

    static func summaryTable(_ report: CompareReport) -> String {
        var html = "<h2>Summary</h2><table id=\"summary\"><tr><th>model</th><th>pods</th><th>requests</th><th>ok</th><th>failed</th>"
            + "<th>p50 ms</th><th>p95 ms</th><th>max ms</th><th>GPU peak MiB</th><th>load s</th><th>outputs/sample</th></tr>"
        for row in report.perModel {
            let outputs = row.outputsPerSample.sorted { $0.key < $1.key }.map { "\($0.key) \(SVG.number($0.value))" }.joined(separator: ", ")
            html += "<tr><td>\(SVG.escape(row.model))</td><td>\(SVG.escape(row.pods.joined(separator: ", ")))</td><td>\(row.requests)</td>"
                + "<td>\(row.succeeded)</td><td\(row.failed > 0 ? " class=\"failed\"" : "")>\(row.failed)</td>"
                + "<td>\(ms(row.latencyS?.p50))</td><td>\(ms(row.latencyS?.p95))</td><td>\(ms(row.latencyS?.max))</td>"
                + "<td>\(row.gpuMemoryPeakMiB.map { SVG.number($0, digits: 0) } ?? "n/a")</td>"
                + "<td>\(row.loadS.map { SVG.number($0, digits: 2) } ?? "n/a")</td><td>\(SVG.escape(outputs))</td></tr>"
        }
        return html + "</table>"
    }

    static func barCharts(_ report: CompareReport) -> [String] {
        let rows = report.perModel
        var charts = [
            SVG.barChart(title: "latency p50", unit: "ms", values: rows.map { ($0.model, $0.latencyS.map { $0.p50 * 1000 }) }),
            SVG.barChart(title: "latency p95", unit: "ms", values: rows.map { ($0.model, $0.latencyS.map { $0.p95 * 1000 }) }),
            SVG.barChart(title: "latency max", unit: "ms", values: rows.map { ($0.model, $0.latencyS.map { $0.max * 1000 }) }),
            SVG.barChart(title: "GPU memory peak", unit: "MiB", values: rows.map { ($0.model, $0.gpuMemoryPeakMiB) }, digits: 0),
            SVG.barChart(title: "load time", unit: "s", values: rows.map { ($0.model, $0.loadS) }, digits: 2),
            SVG.barChart(title: "success rate", unit: "%",
                         values: rows.map { ($0.model, $0.requests > 0 ? 100 * Double($0.succeeded) / Double($0.requests) : nil) }),
        ]
        let sections = Set(rows.flatMap(\.outputsPerSample.keys)).sorted()
        for section in sections {
            charts.append(SVG.barChart(title: "\(section) per sample", unit: "", values: rows.map { ($0.model, $0.outputsPerSample[section]) }))
        }
        return charts
    }

    /// Scores per radar axis for one model, 0..1 where 1 is the best model on that axis.
    static func radarScores(_ report: CompareReport, model: String) -> [Double] {
        let rows = report.perModel
        guard let row = rows.first(where: { $0.model == model }) else { return radarAxes.map { _ in 0 } }
        func inverse(_ value: Double?, _ all: [Double?]) -> Double {
            guard let value, value > 0, let best = all.compactMap({ $0 }).filter({ $0 > 0 }).min() else { return 0 }
            return best / value
        }
        func share(_ value: Double?, _ all: [Double?]) -> Double {
            guard let value, let best = all.compactMap({ $0 }).max(), best > 0 else { return 0 }
            return value / best
        }
        let success = row.requests > 0 ? Double(row.succeeded) / Double(row.requests) : 0
        let outputs = { (r: CompareReport.ModelSummary) -> Double? in r.outputsPerSample.isEmpty ? nil : r.outputsPerSample.values.reduce(0, +) }
        return [
            inverse(row.latencyS?.p50, rows.map { $0.latencyS?.p50 }),
            inverse(row.gpuMemoryPeakMiB, rows.map(\.gpuMemoryPeakMiB)),
            success,
            share(outputs(row), rows.map(outputs)),
            meanAgreement(report, model: model) ?? 0,
        ]
    }

    /// The mean agreement of `model` with every other model: boxes at 2 m, polylines at 1 m.
    static func meanAgreement(_ report: CompareReport, model: String) -> Double? {
        let values = report.agreement.filter { $0.models.contains(model) }.compactMap { row in
            row.levels.first { $0.thresholdM == (row.metric == "chamfer" ? 1 : 2) }?.agreement
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func agreementTable(_ report: CompareReport) -> String {
        var html = "<h2>Agreement</h2>"
        guard !report.agreement.isEmpty else {
            return html + "<p>No two models predict the same thing on a common sample.</p>"
        }
        html += "<p>Share of items matched (both directions, nuScenes greedy rule, same class); thresholds in metres.</p>"
        html += "<table id=\"agreement\"><tr><th>models</th><th>section</th><th>metric</th><th>samples</th><th>by threshold</th></tr>"
        for row in report.agreement {
            let levels = row.levels.map { level in
                "\(SVG.number(level.thresholdM, digits: 1)) m: " + (level.agreement.map { SVG.number($0 * 100) + "%" } ?? "n/a")
            }.joined(separator: " · ")
            html += "<tr><td>\(SVG.escape(row.models.joined(separator: " vs ")))</td><td>\(row.section)</td><td>\(row.metric)</td>"
                + "<td>\(row.samples)</td><td>\(SVG.escape(levels))</td></tr>"
        }
        return html + "</table>"
    }

    static func failureList(_ report: CompareReport) -> String {
        var html = "<h2>Failures</h2>"
        guard !report.failures.isEmpty else { return html + "<p id=\"failures\">None.</p>" }
        html += "<table id=\"failures\"><tr><th>model</th><th>sample</th><th>pod</th><th>kind</th><th>message</th></tr>"
        for failure in report.failures {
            html += "<tr class=\"failed\"><td>\(SVG.escape(failure.model))</td><td>\(SVG.escape(failure.sample))</td>"
                + "<td>\(SVG.escape(failure.pod))</td><td>\(failure.kind)</td><td style=\"text-align:left\">\(SVG.escape(failure.message))</td></tr>"
        }
        return html + "</table>"
    }
}
