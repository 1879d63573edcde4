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
import PodAgentExtras

/// Small SVG building blocks; all text goes through ``escape(_:)``.
enum SVG {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    static func color(_ index: Int) -> String { palette[index % palette.count] }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double, digits: Int = 1) -> String {
        guard value.isFinite else { return "0" }
        return decimalText(value, decimals: digits)
    }

    /// Horizontal bars, one per model; a model without a value gets "n/a".
    static func barChart(title: String, unit: String, values: [(model: String, value: Double?)], digits: Int = 1) -> String {
        let rowHeight = 26.0, labelWidth = 150.0, barWidth = 260.0, width = labelWidth + barWidth + 90
        let height = 34 + rowHeight * Double(values.count)
        let top = values.compactMap(\.value).max() ?? 0
        var svg = "<svg class=\"chart bar\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(escape(title))\(unit.isEmpty ? "" : " (\(escape(unit)))")</text>"
        for (index, entry) in values.enumerated() {
            let y = 26 + rowHeight * Double(index)
            svg += "<text x=\"\(Int(labelWidth - 6))\" y=\"\(number(y + 15))\" font-size=\"12\" text-anchor=\"end\">\(escape(entry.model))</text>"
            if let value = entry.value {
                let length = top > 0 ? max(1, barWidth * value / top) : 1
                svg += "<rect x=\"\(Int(labelWidth))\" y=\"\(number(y + 3))\" width=\"\(number(length))\" height=\"\(Int(rowHeight - 8))\" fill=\"\(color(index))\"/>"
                svg += "<text x=\"\(number(labelWidth + length + 5))\" y=\"\(number(y + 15))\" font-size=\"12\">\(number(value, digits: digits))</text>"
            } else {
                svg += "<text x=\"\(Int(labelWidth + 4))\" y=\"\(number(y + 15))\" font-size=\"12\" fill=\"#888\">n/a</text>"
            }
        }
        return svg + "</svg>"
    }

    /// A radar chart: one polygon per model over axes scored 0..1 (1 = best).
    static func radar(axes: [String], series: [(model: String, scores: [Double])]) -> String {
        // Room on both sides for the axis names, and a legend on the right.
        let size = 380.0, margin = 110.0, centreX = margin + size / 2, centreY = size / 2, radius = 130.0
        let width = Int(margin * 2 + size + 120)
        var svg = "<svg class=\"chart radar\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(Int(size))\" "
            + "viewBox=\"0 0 \(width) \(Int(size))\" role=\"img\" aria-label=\"radar chart across models\">"
        func point(_ axis: Int, _ value: Double) -> (Double, Double) {
            let angle = -Double.pi / 2 + 2 * Double.pi * Double(axis) / Double(max(axes.count, 1))
            return (centreX + cos(angle) * radius * value, centreY + sin(angle) * radius * value)
        }
        for ring in [0.25, 0.5, 0.75, 1.0] {
            let points = axes.indices.map { point($0, ring) }.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
            svg += "<polygon points=\"\(points)\" fill=\"none\" stroke=\"#ccc\"/>"
        }
        for (index, axis) in axes.enumerated() {
            let (x, y) = point(index, 1)
            let (lx, ly) = point(index, 1.12)
            let anchor = abs(lx - centreX) < 10 ? "middle" : lx < centreX ? "end" : "start"
            svg += "<line x1=\"\(number(centreX))\" y1=\"\(number(centreY))\" x2=\"\(number(x))\" y2=\"\(number(y))\" stroke=\"#bbb\"/>"
            svg += "<text x=\"\(number(lx))\" y=\"\(number(ly + 4))\" font-size=\"12\" text-anchor=\"\(anchor)\">\(escape(axis))</text>"
        }
        let legendX = Int(margin * 2 + size)
        for (index, entry) in series.enumerated() {
            let points = entry.scores.enumerated().map { point($0.offset, min(max($0.element, 0), 1)) }
                .map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
            svg += "<polygon class=\"series\" points=\"\(points)\" fill=\"\(color(index))\" fill-opacity=\"0.15\" stroke=\"\(color(index))\" stroke-width=\"2\"/>"
            svg += "<rect x=\"\(legendX)\" y=\"\(20 + 20 * index)\" width=\"12\" height=\"12\" fill=\"\(color(index))\"/>"
            svg += "<text x=\"\(legendX + 18)\" y=\"\(31 + 20 * index)\" font-size=\"12\">\(escape(entry.model))</text>"
        }
        return svg + "</svg>"
    }

    /// Bird's-eye view: x forward (up the page), y left (left on the page), metres; the ego at the centre.
    static func birdsEye(_ view: CompareReport.BirdsEye) -> String {
        let size = 640.0, centre = size / 2
        var extent = 10.0
        for model in view.models {
            for box in model.boxes { extent = max(extent, abs(box.centerXY[0]) + 3, abs(box.centerXY[1]) + 3) }
            for line in model.polylines { for p in line.points where p.count >= 2 { extent = max(extent, abs(p[0]), abs(p[1])) } }
            for path in model.trajectories { for p in path where p.count >= 2 { extent = max(extent, abs(p[0]), abs(p[1])) } }
        }
        extent = min(extent, 80)
        let scale = (centre - 20) / extent
        func place(_ x: Double, _ y: Double) -> (Double, Double) { (centre - y * scale, centre - x * scale) }
        func screen(_ x: Double, _ y: Double) -> String { let p = place(x, y); return "\(number(p.0)),\(number(p.1))" }
        var svg = "<svg class=\"chart bev\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(size + 170))\" height=\"\(Int(size))\" "
            + "viewBox=\"0 0 \(Int(size + 170)) \(Int(size))\" role=\"img\" aria-label=\"bird's-eye view of sample \(escape(view.sample))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(size))\" height=\"\(Int(size))\" fill=\"#fafafa\" stroke=\"#ddd\"/>"
        let step = extent > 40 ? 20.0 : 10.0
        var ring = step
        while ring <= extent {
            svg += "<circle cx=\"\(number(centre))\" cy=\"\(number(centre))\" r=\"\(number(ring * scale))\" fill=\"none\" stroke=\"#e4e4e4\"/>"
            svg += "<text x=\"\(number(centre + 3))\" y=\"\(number(centre - ring * scale - 2))\" font-size=\"10\" fill=\"#999\">\(Int(ring)) m</text>"
            ring += step
        }
        svg += "<polygon points=\"\(screen(2.5, 0)) \(screen(-1.5, 1)) \(screen(-1.5, -1))\" fill=\"#333\"/>"
        for (index, model) in view.models.enumerated() {
            let colour = color(index)
            svg += "<g class=\"model\" data-model=\"\(escape(model.model))\">"
            for line in model.polylines where line.points.count >= 2 {
                let points = line.points.filter { $0.count >= 2 }.map { screen($0[0], $0[1]) }.joined(separator: " ")
                svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" stroke-opacity=\"0.8\"/>"
            }
            for path in model.trajectories where path.count >= 2 {
                let points = path.filter { $0.count >= 2 }.map { screen($0[0], $0[1]) }.joined(separator: " ")
                svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>"
            }
            for box in model.boxes where box.centerXY.count >= 2 && box.sizeWL.count >= 2 {
                let (cx, cy, w, l) = (box.centerXY[0], box.centerXY[1], box.sizeWL[0], box.sizeWL[1])
                let (c, s) = (cos(box.yaw), sin(box.yaw))
                // Corners along the box's length (heading) and width axes.
                let corners = [(l / 2, w / 2), (l / 2, -w / 2), (-l / 2, -w / 2), (-l / 2, w / 2)].map { (u, v) in
                    screen(cx + u * c - v * s, cy + u * s + v * c)
                }
                svg += "<polygon class=\"box\" points=\"\(corners.joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.12\" stroke=\"\(colour)\" stroke-width=\"1.2\">"
                svg += "<title>\(escape(model.model)): \(escape(box.label)) \(number(box.score, digits: 2))</title></polygon>"
                // A heading tick from the centre to the front face.
                let (fromX, fromY) = place(cx, cy)
                let (toX, toY) = place(cx + l / 2 * c, cy + l / 2 * s)
                svg += "<line x1=\"\(number(fromX))\" y1=\"\(number(fromY))\" x2=\"\(number(toX))\" y2=\"\(number(toY))\" stroke=\"\(colour)\"/>"
            }
            svg += "</g>"
            svg += "<rect x=\"\(Int(size + 12))\" y=\"\(20 + 20 * index)\" width=\"12\" height=\"12\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(Int(size + 30))\" y=\"\(31 + 20 * index)\" font-size=\"12\">\(escape(model.model))</text>"
        }
        let legendY = 40 + 20 * view.models.count
        svg += "<text x=\"\(Int(size + 12))\" y=\"\(legendY)\" font-size=\"11\" fill=\"#555\">boxes: solid</text>"
        svg += "<text x=\"\(Int(size + 12))\" y=\"\(legendY + 16)\" font-size=\"11\" fill=\"#555\">map/lanes: lines</text>"
        svg += "<text x=\"\(Int(size + 12))\" y=\"\(legendY + 32)\" font-size=\"11\" fill=\"#555\">trajectories: dashed</text>"
        svg += "<text x=\"\(Int(size + 12))\" y=\"\(legendY + 48)\" font-size=\"11\" fill=\"#555\">x forward = up</text>"
        return svg + "</svg>"
    }
}
