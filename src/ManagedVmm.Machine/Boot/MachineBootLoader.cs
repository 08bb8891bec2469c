using ManagedVmm.Core.Dma;
using ManagedVmm.Core.Memory;
using ManagedVmm.Machine.Acpi;
using ManagedVmm.Pci;

namespace ManagedVmm.Machine.Boot;

/// <summary>
/// Prepares a built machine to run (ARCHITECTURE §3): loads the payload ELF (and the firmware ELF, if any) at their
/// physical addresses, builds the ACPI tables from the machine as placed, writes the command line, the memory map
/// and the boot-info block, writes the identity page tables, GDT and stack, and — with no firmware — assigns BARs
/// and enables decoding and bus mastering. Returns the <see cref="BootState"/> the vCPU starts from.
/// <para>
/// Everything the guest can see is checked first: a bad ELF, a segment outside RAM or over the VMM's structures,
/// images that overlap each other, a command line that does not fit — each a <see cref="MachineConfigurationException"/>
/// before the first byte is written.
/// </para>
/// </summary>
public sealed class MachineBootLoader
{
    /// <summary>Bytes zeroed at a time when clearing a segment's bss (spans are limited to 2 GiB).</summary>
    private const int ZeroChunk = 1 << 20;

    private readonly GuestRam _ram;
    private readonly PciBus _pci;
    private readonly IEnumerable<IDmaTranslator> _translators;

    public MachineBootLoader(GuestRam ram, PciBus pci, IEnumerable<IDmaTranslator> translators)
    {
        _ram = ram;
        _pci = pci;
        _translators = translators;
    }

    /// <summary>Convenience for the CLI: paths instead of bytes; <paramref name="firmwarePath"/> null means <c>--no-firmware</c>.</summary>
    public BootResult Boot(string payloadPath, string? commandLine, string? firmwarePath) =>
        Boot(new BootRequest(BootImageSource.FromFile(payloadPath))
        {
            CommandLine = commandLine,
            Firmware = firmwarePath is null ? null : BootImageSource.FromFile(firmwarePath),
        });

    public BootResult Boot(BootRequest request)
    {
        var payload = ElfImage.Parse(request.Payload.Name, request.Payload.Bytes);
        var firmware = request.Firmware is { } fw ? ElfImage.Parse(fw.Name, fw.Bytes) : null;
        CheckPlacement(payload);
        if (firmware != null)
        {
            CheckPlacement(firmware);
            CheckDisjoint(firmware, payload);
        }

        byte[]? commandLine = string.IsNullOrEmpty(request.CommandLine) ? null : BootInfo.CommandLineBytes(request.CommandLine);
        var acpi = AcpiTableBuilder.Build(DescribePlatform(request.CpuCount), BootLayout.AcpiAddress);
        if ((ulong)acpi.Image.Length > BootLayout.AcpiCapacity)
        {
            throw new MachineConfigurationException($"ACPI tables need {acpi.Image.Length} bytes; {BootLayout.AcpiCapacity} are reserved");
        }

        var memoryMap = MemoryMapBuilder.Build(_ram.Regions, ReservedRanges(firmware));
        if (memoryMap.Count > BootLayout.MaxMemoryMapEntries)
        {
            throw new MachineConfigurationException($"the memory map has {memoryMap.Count} entries; at most {BootLayout.MaxMemoryMapEntries} fit");
        }

        // Checks done: from here on we write guest RAM.
        ClearLowMemory();
        Load(payload);
        if (firmware != null)
        {
            Load(firmware);
        }

        IReadOnlyList<PciBarAssignment> bars = firmware == null ? PciResourceAssigner.AssignAll(_pci) : [];
        LongModeSetup.Write(_ram, BootLayout.AcpiAddress, acpi.Image);
        LongModeSetup.Write(_ram, BootLayout.RsdpScanCopyAddress, acpi.Rsdp);
        if (commandLine != null)
        {
            LongModeSetup.Write(_ram, BootLayout.CommandLineAddress, commandLine);
        }

        var info = new BootInfo(
            acpi.RsdpAddress,
            commandLine != null ? BootLayout.CommandLineAddress : 0,
            payload.Entry,
            request.TscHz,
            memoryMap,
            BootLayout.MemoryMapAddress);
        LongModeSetup.Write(_ram, BootLayout.BootInfoAddress, info.ToBytes());
        LongModeSetup.Write(_ram, BootLayout.MemoryMapAddress, info.MemoryMapBytes());
        var state = LongModeSetup.Prepare(_ram, firmware?.Entry ?? payload.Entry, BootLayout.BootInfoAddress);
        return new BootResult(state, info, BootLayout.BootInfoAddress, acpi, payload, firmware, bars);
    }

    /// <summary>The machine as the ACPI tables describe it; every placed PCI function that is an IOMMU gets a VIOT node.</summary>
    public AcpiPlatformDescription DescribePlatform(int cpuCount)
    {
        var iommus = new List<ViotIommu>();
        foreach (var translator in _translators)
        {
            if (translator is not PciFunction { IsPlaced: true } iommu)
            {
                continue;
            }

            var endpoints = new List<Core.Bdf>();
            var blocked = new List<Core.Bdf>();
            foreach (var f in _pci.Functions)
            {
                bool translated = !ReferenceEquals(f, iommu) && translator.Covers(f.Address);
                (translated ? endpoints : blocked).Add(f.Address);
            }

            iommus.Add(new ViotIommu(iommu.Address, endpoints, blocked));
        }

        iommus.Sort((a, b) => a.Address.RequesterId.CompareTo(b.Address.RequesterId));
        return new AcpiPlatformDescription(cpuCount, PlatformLayout.LocalApicBase, PlatformLayout.EcamBase, 0, 255, iommus);
    }

    private IEnumerable<MemoryMapEntry> ReservedRanges(ElfImage? firmware)
    {
        yield return new MemoryMapEntry(0, PlatformLayout.FirmwareAreaBase, MemoryMapType.Reserved);
        yield return new MemoryMapEntry(PlatformLayout.FirmwareAreaBase, PlatformLayout.FirmwareAreaSize, MemoryMapType.Reserved);
        yield return new MemoryMapEntry(PlatformLayout.EcamBase, PlatformLayout.EcamSize, MemoryMapType.Reserved);
        if (firmware != null)
        {
            // The firmware's own image stays the firmware's: the payload must not allocate over it.
            foreach (var s in firmware.Segments)
            {
                ulong start = s.PhysicalAddress & ~0xFFFUL;
                ulong end = (s.End + 0xFFF) & ~0xFFFUL;
                yield return new MemoryMapEntry(start, end - start, MemoryMapType.Reserved);
            }
        }
    }

    private void CheckPlacement(ElfImage image)
    {
        foreach (var s in image.Segments)
        {
            if (s.PhysicalAddress < BootLayout.LowReservedEnd)
            {
                throw new MachineConfigurationException(
                    $"{image.Name}: segment [0x{s.PhysicalAddress:x}, 0x{s.End:x}) overlaps the VMM's boot structures below 0x{BootLayout.LowReservedEnd:x}; link at 0x{BootLayout.ImageBase:x} or above");
            }

            if (!FitsInOneRamRegion(s.PhysicalAddress, s.MemorySize))
            {
                string ram = string.Join(" and ", _ram.Regions.Select(r => $"[0x{r.GuestBase:x}, 0x{r.End:x})"));
                throw new MachineConfigurationException(
                    $"{image.Name}: segment [0x{s.PhysicalAddress:x}, 0x{s.End:x}) ({s.MemorySize} bytes) does not fit in RAM {ram}; give the machine more memory (-m)");
            }
        }
    }

    private static void CheckDisjoint(ElfImage a, ElfImage b)
    {
        foreach (var x in a.Segments)
        {
            foreach (var y in b.Segments)
            {
                if (x.PhysicalAddress < y.End && y.PhysicalAddress < x.End)
                {
                    throw new MachineConfigurationException(
                        $"{a.Name} [0x{x.PhysicalAddress:x}, 0x{x.End:x}) overlaps {b.Name} [0x{y.PhysicalAddress:x}, 0x{y.End:x})");
                }
            }
        }
    }

    private bool FitsInOneRamRegion(ulong address, ulong length)
    {
        foreach (var r in _ram.Regions)
        {
            if (r.Contains(address) && length <= r.End - address)
            {
                return true;
            }
        }

        return false;
    }

    private void ClearLowMemory()
    {
        if (!_ram.TryGetSpan(0, (int)BootLayout.LowReservedEnd, out var low))
        {
            throw new MachineConfigurationException("the low megabyte of RAM is missing");
        }

        low.Clear();
        _ram.NotifyWrite(0, BootLayout.LowReservedEnd);
    }

    private void Load(ElfImage image)
    {
        foreach (var s in image.Segments)
        {
            LongModeSetup.Write(_ram, s.PhysicalAddress, image.FileBytes(s));
            ulong at = s.PhysicalAddress + s.FileSize;
            ulong remaining = s.MemorySize - s.FileSize;
            while (remaining > 0)
            {
                int chunk = (int)Math.Min(remaining, ZeroChunk);
                if (!_ram.TryGetSpan(at, chunk, out var span))
                {
                    throw new MachineConfigurationException($"{image.Name}: bss at 0x{at:x} is not in RAM");
                }

                span.Clear();
                _ram.NotifyWrite(at, (ulong)chunk);
                at += (ulong)chunk;
                remaining -= (ulong)chunk;
            }
        }
    }
}
