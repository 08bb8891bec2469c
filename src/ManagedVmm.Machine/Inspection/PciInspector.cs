using System.Text.Json.Nodes;
using ManagedVmm.Core.Diagnostics;
using ManagedVmm.Pci;
using ManagedVmm.Pci.Spec;

namespace ManagedVmm.Machine.Inspection;

/// <summary>
/// Describes PCI functions the way <c>lspci -vvv</c> does, as a JSON tree: identity, Command/Status, BARs with
/// sizes and types, each capability decoded, and the device's own state when it reports one. Reads
/// configuration space directly (no guest-visible side effects).
/// </summary>
public static class PciInspector
{
    public static JsonObject Describe(PciFunction f)
    {
        var config = f.Config;
        var command = (PciCommand)config.GetUInt16(PciConfig.Command);
        var status = (PciStatus)config.GetUInt16(PciConfig.Status);
        var node = new JsonObject
        {
            ["bdf"] = f.Address.ToString(),
            ["name"] = f.Name,
            ["vendorId"] = Hex(config.GetUInt16(PciConfig.VendorId), 4),
            ["deviceId"] = Hex(config.GetUInt16(PciConfig.DeviceId), 4),
            ["classCode"] = Hex(config.GetUInt32(PciConfig.RevisionId) >> 8, 6),
            ["className"] = PciClassNames.Describe(config.GetUInt32(PciConfig.RevisionId) >> 8),
            ["revision"] = (int)config.GetByte(PciConfig.RevisionId),
            ["subsystem"] = $"{Hex(config.GetUInt16(PciConfig.SubsystemVendorId), 4)}:{Hex(config.GetUInt16(PciConfig.SubsystemId), 4)}",
            ["command"] = new JsonObject
            {
                ["ioSpace"] = (command & PciCommand.IoSpace) != 0,
                ["memorySpace"] = (command & PciCommand.MemorySpace) != 0,
                ["busMaster"] = (command & PciCommand.BusMaster) != 0,
                ["interruptDisable"] = (command & PciCommand.InterruptDisable) != 0,
            },
            ["status"] = new JsonObject
            {
                ["capabilitiesList"] = (status & PciStatus.CapabilitiesList) != 0,
                ["interruptStatus"] = (status & PciStatus.InterruptStatus) != 0,
            },
            ["interruptPin"] = (int)config.GetByte(PciConfig.InterruptPin),
            ["bars"] = DescribeBars(f),
            ["capabilities"] = DescribeCapabilities(f),
        };
        if (f is IStateReporter reporter)
        {
            node["device"] = reporter.CaptureState();
        }

        return node;
    }

    private static JsonArray DescribeBars(PciFunction f)
    {
        var bars = new JsonArray();
        foreach (var bar in f.Bars)
        {
            if (bar == null)
            {
                continue;
            }

            ulong programmed = f.BarAddress(bar.Index);
            bars.Add(new JsonObject
            {
                ["index"] = bar.Index,
                ["kind"] = bar.Kind switch { PciBarKind.Io => "io", PciBarKind.Memory64 => "memory64", _ => "memory32" },
                ["prefetchable"] = bar.Prefetchable,
                ["size"] = bar.Size,
                ["address"] = programmed == 0 ? null : Hex(programmed, bar.IsMemory ? 8 : 4),
                ["decoded"] = bar.MappedAt is not null,
            });
        }

        return bars;
    }

    private static JsonArray DescribeCapabilities(PciFunction f)
    {
        var caps = new JsonArray();
        foreach (var (offset, id) in PciCapabilityList.Walk(f.Config))
        {
            var cap = new JsonObject
            {
                ["offset"] = Hex((uint)offset, 2),
                ["id"] = Hex(id, 2),
                ["name"] = PciCapabilityId.Name(id),
            };
            if (id == PciCapabilityId.MsiX)
            {
                ushort control = f.Config.GetUInt16(offset + 2);
                uint table = f.Config.GetUInt32(offset + 4);
                uint pba = f.Config.GetUInt32(offset + 8);
                cap["enable"] = (control & 0x8000) != 0;
                cap["functionMask"] = (control & 0x4000) != 0;
                cap["count"] = (control & 0x7FF) + 1;
                cap["tableBar"] = table & 7;
                cap["tableOffset"] = Hex(table & ~7u, 8);
                cap["pbaBar"] = pba & 7;
                cap["pbaOffset"] = Hex(pba & ~7u, 8);
            }
            else if (id == PciCapabilityId.VendorSpecific)
            {
                byte length = f.Config.GetByte(offset + 2);
                cap["length"] = (int)length;
                var bytes = new byte[Math.Clamp(length - 3, 0, 64)];
                f.Config.Read(offset + 3, bytes);
                cap["data"] = Convert.ToHexString(bytes).ToLowerInvariant();
                if (f.Identity.VendorId == 0x1AF4 && length >= 16)
                {
                    DescribeVirtioCapability(f, offset, cap);
                }
            }

            caps.Add(cap);
        }

        return caps;
    }

    /// <summary>virtio-pci capabilities (virtio 1.2 §4.1.4): cfg_type, bar, offset, length.</summary>
    private static void DescribeVirtioCapability(PciFunction f, int offset, JsonObject cap)
    {
        byte type = f.Config.GetByte(offset + 3);
        cap["virtioCfgType"] = type switch
        {
            1 => "common",
            2 => "notify",
            3 => "isr",
            4 => "device",
            5 => "pci-cfg",
            8 => "shared-memory",
            9 => "vendor",
            _ => $"type {type}",
        };
        cap["bar"] = (int)f.Config.GetByte(offset + 4);
        cap["barOffset"] = Hex(f.Config.GetUInt32(offset + 8), 8);
        cap["barLength"] = Hex(f.Config.GetUInt32(offset + 12), 8);
        if (type == 2 && f.Config.GetByte(offset + 2) >= 20)
        {
            cap["notifyOffMultiplier"] = f.Config.GetUInt32(offset + 16);
        }
    }

    internal static string Hex(ulong value, int digits) => value.ToString($"x{digits}");
}
