using System.Text;
using System.Text.Json.Nodes;
using ManagedVmm.Core.Diagnostics;

namespace ManagedVmm.Machine.Inspection;

/// <summary>
/// The whole machine as <c>managedvmm inspect</c> shows it: memory map, every PCI function (lspci -vvv style),
/// and any other service that reports state (the IOMMU's tables, the vCPU). One JSON tree, rendered as text
/// or serialized as JSON.
/// </summary>
public static class MachineInspector
{
    public static JsonObject Capture(Machine machine)
    {
        var ram = new JsonArray();
        foreach (var r in machine.Ram.Regions)
        {
            ram.Add(new JsonObject { ["base"] = PciInspector.Hex(r.GuestBase, 9), ["size"] = r.Size });
        }

        var functions = new JsonArray();
        foreach (var f in machine.Pci.Functions)
        {
            functions.Add(PciInspector.Describe(f));
        }

        var root = new JsonObject
        {
            ["memorySize"] = machine.Options.MemorySize,
            ["ram"] = ram,
            ["virtualTimeNs"] = machine.Scheduler.Now,
            ["guestErrors"] = machine.GuestErrors.Count,
            ["pci"] = functions,
        };
        var others = new JsonObject();
        foreach (var reporter in machine.StateReporters())
        {
            others[reporter.StateName] = reporter.CaptureState();
        }

        if (others.Count > 0)
        {
            root["state"] = others;
        }

        return root;
    }

    /// <summary>Renders the capture as text: an lspci -vvv-like block per function, then other state.</summary>
    public static string RenderText(JsonObject capture)
    {
        var sb = new StringBuilder();
        sb.Append("Memory: ").Append(FormatSize((ulong)capture["memorySize"]!)).AppendLine();
        foreach (var r in capture["ram"]!.AsArray())
        {
            sb.Append("  RAM at ").Append((string)r!["base"]!).Append(" [size=").Append(FormatSize((ulong)r["size"]!)).AppendLine("]");
        }

        sb.AppendLine();
        foreach (var node in capture["pci"]!.AsArray())
        {
            RenderFunction(sb, node!.AsObject());
            sb.AppendLine();
        }

        if (capture["state"] is JsonObject state)
        {
            foreach (var (name, value) in state)
            {
                sb.Append(name).AppendLine(":");
                RenderTree(sb, value, 1);
            }
        }

        return sb.ToString();
    }

    private static void RenderFunction(StringBuilder sb, JsonObject f)
    {
        sb.Append((string)f["bdf"]!).Append(' ').Append((string)f["className"]!).Append(" [").Append(((string)f["classCode"]!)[..4]).Append("]: ")
          .Append("Vendor ").Append((string)f["vendorId"]!).Append(" Device ").Append((string)f["deviceId"]!)
          .Append(" (rev ").Append(((int)f["revision"]!).ToString("x2")).Append(") (prog-if ").Append(((string)f["classCode"]!)[4..]).Append(')')
          .Append(" [").Append((string)f["name"]!).AppendLine("]");
        sb.Append("\tSubsystem: ").AppendLine((string)f["subsystem"]!);
        var cmd = f["command"]!;
        sb.Append("\tControl: I/O").Append(Flag(cmd["ioSpace"])).Append(" Mem").Append(Flag(cmd["memorySpace"]))
          .Append(" BusMaster").Append(Flag(cmd["busMaster"])).Append(" DisINTx").AppendLine(Flag(cmd["interruptDisable"]));
        var status = f["status"]!;
        sb.Append("\tStatus: Cap").Append(Flag(status["capabilitiesList"])).Append(" INTx").AppendLine(Flag(status["interruptStatus"]));
        int pin = (int)f["interruptPin"]!;
        if (pin != 0)
        {
            sb.Append("\tInterrupt: pin ").Append((char)('A' + pin - 1)).AppendLine();
        }

        foreach (var bar in f["bars"]!.AsArray())
        {
            string kind = (string)bar!["kind"]!;
            string? address = (string?)bar["address"];
            sb.Append("\tRegion ").Append((int)bar["index"]!).Append(": ");
            sb.Append(kind == "io" ? "I/O ports at " : "Memory at ").Append(address ?? "<unassigned>");
            if (kind != "io")
            {
                sb.Append(kind == "memory64" ? " (64-bit, " : " (32-bit, ").Append((bool)bar["prefetchable"]! ? "prefetchable)" : "non-prefetchable)");
            }

            if (address != null && !(bool)bar["decoded"]!)
            {
                sb.Append(" [disabled]");
            }

            sb.Append(" [size=").Append(FormatSize((ulong)bar["size"]!)).AppendLine("]");
        }

        foreach (var cap in f["capabilities"]!.AsArray())
        {
            var c = cap!.AsObject();
            sb.Append("\tCapabilities: [").Append((string)c["offset"]!).Append("] ").Append((string)c["name"]!);
            if (c["count"] is not null)
            {
                sb.Append(": Enable").Append(Flag(c["enable"])).Append(" Count=").Append((int)c["count"]!).Append(" Masked").AppendLine(Flag(c["functionMask"]));
                sb.Append("\t\tVector table: BAR=").Append((uint)c["tableBar"]!).Append(" offset=").AppendLine((string)c["tableOffset"]!);
                sb.Append("\t\tPBA: BAR=").Append((uint)c["pbaBar"]!).Append(" offset=").AppendLine((string)c["pbaOffset"]!);
            }
            else if (c["virtioCfgType"] is not null)
            {
                sb.Append(": VirtIO: ").Append((string)c["virtioCfgType"]!).AppendLine();
                sb.Append("\t\tBAR=").Append((int)c["bar"]!).Append(" offset=").Append((string)c["barOffset"]!).Append(" size=").Append((string)c["barLength"]!);
                if (c["notifyOffMultiplier"] is not null)
                {
                    sb.Append(" multiplier=").Append((uint)c["notifyOffMultiplier"]!);
                }

                sb.AppendLine();
            }
            else if (c["length"] is not null)
            {
                sb.Append(": Len=").Append(((int)c["length"]!).ToString("x2")).Append(" <").Append((string)c["data"]!).AppendLine(">");
            }
            else
            {
                sb.AppendLine();
            }
        }

        if (f["device"] is JsonObject device)
        {
            sb.AppendLine("\tDevice state:");
            RenderTree(sb, device, 2);
        }
    }

    /// <summary>Renders any JSON tree as indented "key: value" lines (arrays of objects as "- " items).</summary>
    public static void RenderTree(StringBuilder sb, JsonNode? node, int depth)
    {
        string indent = new('\t', depth);
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (value is JsonObject or JsonArray)
                    {
                        sb.Append(indent).Append(key).AppendLine(":");
                        RenderTree(sb, value, depth + 1);
                    }
                    else
                    {
                        sb.Append(indent).Append(key).Append(": ").AppendLine(value?.ToString() ?? "-");
                    }
                }

                break;
            case JsonArray array:
                if (array.Count == 0)
                {
                    sb.Append(indent).AppendLine("(none)");
                }

                foreach (var item in array)
                {
                    if (item is JsonObject o)
                    {
                        sb.Append(indent).Append("- ").AppendLine(string.Join(", ", o.Select(kv => $"{kv.Key}={kv.Value?.ToJsonString().Trim('"') ?? "-"}")));
                    }
                    else
                    {
                        sb.Append(indent).Append("- ").AppendLine(item?.ToString() ?? "-");
                    }
                }

                break;
            default:
                sb.Append(indent).AppendLine(node?.ToString() ?? "-");
                break;
        }
    }

    private static string Flag(JsonNode? node) => node is not null && (bool)node ? "+" : "-";

    public static string FormatSize(ulong size) => size switch
    {
        >= 1UL << 30 when size % (1UL << 30) == 0 => $"{size >> 30}G",
        >= 1UL << 20 when size % (1UL << 20) == 0 => $"{size >> 20}M",
        >= 1UL << 10 when size % (1UL << 10) == 0 => $"{size >> 10}K",
        _ => size.ToString(),
    };
}
