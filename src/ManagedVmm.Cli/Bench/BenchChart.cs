using System.Globalization;
using System.Net;
using System.Text;

namespace ManagedVmm.Cli.Bench;

/// <summary>An SVG bar chart: one group per workload, one bar per variant, height = IOPS relative to strict.</summary>
public static class BenchChart
{
    private static readonly string[] Colours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Svg(IReadOnlyList<BenchResult> results)
    {
        var workloads = results.Select(r => r.Configuration.Workload.Name).Distinct().ToList();
        var variants = results.Select(r => r.Configuration.Variant.Name).Distinct().ToList();
        double max = Math.Max(1.0, results.Select(r => BenchReport.RatioToStrict(r, results) ?? 0).DefaultIfEmpty(1).Max());
        const int plotHeight = 300, top = 40, left = 60, barWidth = 18, gap = 30;
        int groupWidth = (variants.Count * barWidth) + gap;
        int width = left + (workloads.Count * groupWidth) + 200;
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{plotHeight + top + 80}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine(Inv, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">IOPS relative to strict (virtual time)</text>");
        for (int t = 0; t <= 4; t++)
        {
            double v = max * t / 4;
            double y = top + plotHeight - (plotHeight * t / 4.0);
            sb.AppendLine(Inv, $"<line x1=\"{left}\" x2=\"{width - 200}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#ddd\"/><text x=\"{left - 5}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{v:0.00}</text>");
        }

        for (int w = 0; w < workloads.Count; w++)
        {
            int x0 = left + (gap / 2) + (w * groupWidth);
            for (int v = 0; v < variants.Count; v++)
            {
                var r = results.FirstOrDefault(x => x.Configuration.Workload.Name == workloads[w] && x.Configuration.Variant.Name == variants[v]);
                double ratio = r == null ? 0 : BenchReport.RatioToStrict(r, results) ?? 0;
                double h = plotHeight * ratio / max;
                sb.AppendLine(Inv, $"<rect x=\"{x0 + (v * barWidth)}\" y=\"{top + plotHeight - h:0.#}\" width=\"{barWidth - 2}\" height=\"{h:0.#}\" fill=\"{Colours[v % Colours.Length]}\"><title>{E(variants[v])} / {E(workloads[w])}: {ratio:0.000}</title></rect>");
                double labelX = x0 + (v * barWidth) + (barWidth / 2.0), labelY = top + plotHeight - h - 3;
                sb.AppendLine(Inv, $"<text x=\"{labelX:0.#}\" y=\"{labelY:0.#}\" font-size=\"8\" text-anchor=\"start\" transform=\"rotate(-90 {labelX:0.#} {labelY:0.#})\">{ratio:0.00}</text>");
            }

            sb.AppendLine(Inv, $"<text x=\"{x0 + (variants.Count * barWidth / 2)}\" y=\"{top + plotHeight + 15}\" text-anchor=\"middle\">{E(workloads[w])}</text>");
        }

        for (int v = 0; v < variants.Count; v++)
        {
            int y = top + (v * 16);
            sb.AppendLine(Inv, $"<rect x=\"{width - 190}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{Colours[v % Colours.Length]}\"/><text x=\"{width - 172}\" y=\"{y + 10}\">{E(variants[v])}</text>");
        }

        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
