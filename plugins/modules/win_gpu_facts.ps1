#!powershell

# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell Ansible.ModuleUtils.CommandUtil

# Windows side of torchfleet.lab.gpu_facts (the action plugin picks this module for
# PowerShell hosts). Each function below repeats a function of
# plugins/module_utils/_gpu.py, named in its comment; that Python code is what the unit
# tests exercise, so change both together.

$spec = @{
    options = @{
        nvidia_smi = @{ type = 'path' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# _gpu.PCI_VENDORS / VENDOR_PRIORITY / SMI_FIELDS / SMI_FIELDS_LEGACY / _SMI_MISSING
$PciVendors = @{ '10de' = 'nvidia'; '1002' = 'amd'; '8086' = 'intel'; '106b' = 'apple' }
$VendorPriority = @('nvidia', 'amd', 'apple', 'intel')
$SmiFields = @('index', 'name', 'pci.bus_id', 'pci.device_id', 'memory.total', 'driver_version', 'uuid', 'compute_cap')
$SmiFieldsLegacy = @($SmiFields | Where-Object { $_ -ne 'compute_cap' })
$SmiMissing = @('', 'n/a', '[n/a]', 'not supported', '[not supported]', 'unknown', '[unknown error]')
# _gpu._ADAPTER_RAM_SATURATED, written in decimal: a hex literal this large reads as a
# negative Int32 in Windows PowerShell.
$AdapterRamSaturated = [int64]4293918720

Function New-Device {
    # _gpu.new_device; parameters are untyped so that $null stays $null (a [string]
    # parameter turns it into '').
    param($Vendor, $Name = $null, $PciId = $null, $PciSlot = $null, $MemoryMiB = $null)
    return @{
        'vendor' = $Vendor
        'name' = $Name
        'pci_id' = $PciId
        'pci_slot' = $PciSlot
        'class' = $null
        'memory_mib' = $MemoryMiB
        'compute_capability' = $null
        'uuid' = $null
    }
}

Function ConvertTo-NvidiaDriverVersion {
    # _gpu.windows_driver_to_nvidia: 31.0.15.7652 -> 576.52, 32.0.16.1047 -> 610.47
    param($DriverVersion)
    if (-not $DriverVersion) { return $null }
    $parts = ([string]$DriverVersion).Trim().Split('.')
    if ($parts.Count -ne 4) { return $null }
    foreach ($part in $parts) {
        if ($part -notmatch '^[0-9]+$') { return $null }
    }
    $third = [int64]$parts[2]
    $fourth = [int64]$parts[3]
    if ($third -lt 10 -or $third -gt 19 -or $fourth -gt 9999) { return $null }
    $merged = ($third - 10) * 10000 + $fourth
    $major = [int64][math]::Floor($merged / 100)
    $minor = [int64]($merged % 100)
    return ('{0}.{1:D2}' -f $major, $minor)
}

Function Get-PnpPciId {
    # _gpu.parse_pnp_device_id, joined: PCI\VEN_10DE&DEV_2204&... -> 10de:2204
    param($PnpDeviceId)
    if ([string]$PnpDeviceId -match '^PCI\\VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})') {
        return ('{0}:{1}' -f $Matches[1].ToLowerInvariant(), $Matches[2].ToLowerInvariant())
    }
    return $null
}

Function Get-AdapterRamMiB {
    # _gpu.memory_from_adapter_ram: AdapterRAM is a uint32 and saturates on cards with 4 GiB or more.
    param($AdapterRAM)
    if ($null -eq $AdapterRAM -or $AdapterRAM -is [bool]) { return $null }
    try {
        $value = [int64]$AdapterRAM
    }
    catch {
        return $null
    }
    if ($value -le 0 -or $value -ge $AdapterRamSaturated) { return $null }
    return [int64][math]::Floor($value / 1048576)
}

Function Get-CimDevice {
    # _gpu.devices_from_cim: PCI adapters of known vendors only.
    param([object[]]$Controller)
    $devices = [System.Collections.Generic.List[Hashtable]]::new()
    foreach ($item in $Controller) {
        if ($null -eq $item) { continue }
        $pciId = Get-PnpPciId -PnpDeviceId $item.PNPDeviceID
        if (-not $pciId) { continue }
        $vendor = $PciVendors[$pciId.Substring(0, 4)]
        if (-not $vendor) { continue }
        $name = $null
        if ($item.Name) { $name = ([string]$item.Name).Trim() }
        if (-not $name) { $name = $null }
        $devices.Add((New-Device -Vendor $vendor -Name $name -PciId $pciId -MemoryMiB (Get-AdapterRamMiB -AdapterRAM $item.AdapterRAM)))
    }
    return , $devices
}

Function Get-CimNvidiaDriver {
    # _gpu.nvidia_driver_from_cim
    param([object[]]$Controller)
    foreach ($item in $Controller) {
        if ($null -eq $item) { continue }
        $pciId = Get-PnpPciId -PnpDeviceId $item.PNPDeviceID
        if ($pciId -and $pciId.StartsWith('10de:')) {
            $version = ConvertTo-NvidiaDriverVersion -DriverVersion $item.DriverVersion
            if ($version) { return $version }
        }
    }
    return $null
}

Function Get-SmiValue {
    # _gpu.parse_smi_value
    param($Value)
    if ($null -eq $Value) { return $null }
    $text = ([string]$Value).Trim()
    if ($SmiMissing -contains $text.ToLowerInvariant()) { return $null }
    return $text
}

Function ConvertTo-IntOrNull {
    # _gpu._int_or_none
    param($Value)
    if ($null -eq $Value) { return $null }
    $number = 0.0
    $styles = [System.Globalization.NumberStyles]::Float
    $culture = [System.Globalization.CultureInfo]::InvariantCulture
    if ([double]::TryParse([string]$Value, $styles, $culture, [ref]$number)) {
        return [int64][math]::Truncate($number)
    }
    return $null
}

Function ConvertTo-PciSlot {
    # _gpu.normalize_pci_slot: 00000000:3B:00.0 -> 0000:3b:00.0
    param($Text)
    if ([string]$Text -match '^(?:([0-9A-F]{1,8}):)?([0-9A-F]{1,2}):([0-9A-F]{1,2})\.([0-7])$') {
        $domain = [int64]0
        if ($Matches[1]) { $domain = [Convert]::ToInt64($Matches[1], 16) }
        $bus = [Convert]::ToInt32($Matches[2], 16)
        $dev = [Convert]::ToInt32($Matches[3], 16)
        $fn = [Convert]::ToInt32($Matches[4], 16)
        return ('{0:x4}:{1:x2}:{2:x2}.{3:x}' -f $domain, $bus, $dev, $fn)
    }
    return $null
}

Function ConvertFrom-SmiDeviceId {
    # _gpu.pci_id_from_smi_device_id: 0x220410DE -> 10de:2204
    param($Value)
    if (-not $Value) { return $null }
    $text = ([string]$Value).Trim().ToLowerInvariant()
    if ($text.StartsWith('0x')) { $text = $text.Substring(2) }
    if ($text -notmatch '^[0-9a-f]{8}$') { return $null }
    return ('{0}:{1}' -f $text.Substring(4, 4), $text.Substring(0, 4))
}

Function ConvertFrom-SmiCsv {
    # _gpu.parse_smi_csv. 'name' is the second field of both field lists, so surplus
    # commas (a name holding one) are given back to it.
    param([string]$Text, [string[]]$Fields)
    $rows = [System.Collections.Generic.List[Hashtable]]::new()
    foreach ($line in ($Text -split "`r?`n")) {
        if (-not $line.Trim()) { continue }
        $parts = @($line.Split(','))
        if ($parts.Count -lt $Fields.Count) { continue }
        $extra = $parts.Count - $Fields.Count
        if ($extra -gt 0) {
            $name = $parts[1..(1 + $extra)] -join ','
            $parts = @($parts[0]) + @($name) + @($parts[(2 + $extra)..($parts.Count - 1)])
        }
        $raw = @{}
        for ($i = 0; $i -lt $Fields.Count; $i++) {
            $raw[$Fields[$i]] = Get-SmiValue -Value $parts[$i]
        }
        $row = @{
            'index' = ConvertTo-IntOrNull -Value $raw['index']
            'name' = $raw['name']
            'pci_slot' = ConvertTo-PciSlot -Text $raw['pci.bus_id']
            'pci_id' = ConvertFrom-SmiDeviceId -Value $raw['pci.device_id']
            'memory_mib' = ConvertTo-IntOrNull -Value $raw['memory.total']
            'driver_version' = $raw['driver_version']
            'uuid' = $raw['uuid']
            'compute_capability' = $raw['compute_cap']
        }
        $rows.Add($row)
    }
    return , $rows
}

Function Test-SmiRetryLegacy {
    # _gpu.smi_should_retry_legacy
    param($Rc, $Stdout, $Stderr)
    if ($Rc -eq 0) { return $false }
    $text = ('{0}{1}{2}' -f $Stdout, "`n", $Stderr).ToLowerInvariant()
    return ($Rc -eq 2 -or $text.Contains('compute_cap') -or $text.Contains('not a valid field'))
}

Function Get-SmiFailureWarning {
    # _gpu.smi_failure_warning (without the loaded kernel module version, which Windows does not expose)
    param($Rc, $Stdout, $Stderr)
    $text = '{0}{1}{2}' -f $Stdout, "`n", $Stderr
    $lowered = $text.ToLowerInvariant()
    if ($Rc -eq 18 -or $lowered.Contains('driver/library version mismatch')) {
        $detail = ''
        if ($text -match 'NVML library version:\s*([0-9][0-9.]*[0-9])') {
            $detail = ' (loaded kernel module unknown, user-space NVML {0})' -f $Matches[1]
        }
        $fix = 'the driver was updated without a reboot, so reboot the host to load the new kernel module.'
        return ('nvidia-smi failed with rc {0}: the NVIDIA driver/library versions do not match{1}; {2}' -f $Rc, $detail, $fix)
    }
    if ($Rc -eq 9 -or $lowered.Contains("couldn't communicate with the nvidia driver")) {
        $fix = 'reboot after installing the driver, and check Secure Boot (an unsigned module is refused).'
        return ('nvidia-smi failed with rc {0}: the NVIDIA kernel module is not loaded; {1}' -f $Rc, $fix)
    }
    if ($Rc -eq 6 -and $lowered.Contains('no devices were found')) {
        return 'nvidia-smi found no NVIDIA GPU (rc 6) although the driver answered.'
    }
    $first = 'no output'
    foreach ($line in ($text -split "`r?`n")) {
        if ($line.Trim()) {
            $first = $line.Trim()
            break
        }
    }
    return ('nvidia-smi failed with rc {0}: {1}' -f $Rc, $first)
}

Function Get-CudaVersion {
    # _gpu.parse_cuda_version
    param($HeaderText)
    if ([string]$HeaderText -match 'CUDA (?:UMD )?Version:\s*([0-9]+(?:\.[0-9]+)*)') {
        return $Matches[1]
    }
    return $null
}

Function Merge-SmiRow {
    # _gpu.merge_smi: by PCI slot, else by PCI id, else the first NVIDIA adapter without a
    # slot, else a new device. Changes $Devices in place.
    param([System.Collections.Generic.List[Hashtable]]$Devices, [System.Collections.Generic.List[Hashtable]]$Rows)
    $taken = @{}
    foreach ($row in $Rows) {
        $found = $null
        for ($i = 0; $i -lt $Devices.Count; $i++) {
            if (-not $taken.ContainsKey($i) -and $row['pci_slot'] -and $Devices[$i]['pci_slot'] -eq $row['pci_slot']) {
                $found = $i
                break
            }
        }
        if ($null -eq $found) {
            for ($i = 0; $i -lt $Devices.Count; $i++) {
                $dev = $Devices[$i]
                if (-not $taken.ContainsKey($i) -and $dev['vendor'] -eq 'nvidia' -and $row['pci_id'] -and $dev['pci_id'] -eq $row['pci_id']) {
                    $found = $i
                    break
                }
            }
        }
        if ($null -eq $found) {
            for ($i = 0; $i -lt $Devices.Count; $i++) {
                $dev = $Devices[$i]
                if (-not $taken.ContainsKey($i) -and $dev['vendor'] -eq 'nvidia' -and -not $dev['pci_slot'] -and -not $row['pci_id']) {
                    $found = $i
                    break
                }
            }
        }
        if ($null -eq $found) {
            $Devices.Add((New-Device -Vendor 'nvidia'))
            $found = $Devices.Count - 1
        }
        $taken[$found] = $true
        foreach ($key in @('name', 'pci_id', 'pci_slot', 'memory_mib', 'compute_capability', 'uuid')) {
            if ($null -ne $row[$key]) { $Devices[$found][$key] = $row[$key] }
        }
    }
}

Function Get-FallbackName {
    # _gpu.fallback_name
    param($Vendor, $PciId)
    $labels = @{ 'nvidia' = 'NVIDIA'; 'amd' = 'AMD'; 'intel' = 'Intel'; 'apple' = 'Apple' }
    $label = $labels[$Vendor]
    if (-not $label) { $label = $Vendor }
    if ($PciId) { return ('{0} GPU [{1}]' -f $label, $PciId) }
    return ('{0} GPU' -f $label)
}

Function Find-NvidiaSmi {
    # nvidia-smi.exe: the override, PATH, System32 (DCH drivers), then NVSMI (older drivers).
    param($Override, [System.Collections.Generic.List[string]]$Warnings)
    if ($Override) {
        if (Test-Path -LiteralPath $Override -PathType Leaf) { return $Override }
        $Warnings.Add(('nvidia_smi={0} is not an executable file; facts that need nvidia-smi are missing.' -f $Override))
        return $null
    }
    $command = Get-Command -Name 'nvidia-smi.exe' -CommandType Application -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if ($command) { return $command.Path }
    $candidates = @(
        (Join-Path -Path $env:SystemRoot -ChildPath 'System32\nvidia-smi.exe'),
        (Join-Path -Path $env:ProgramFiles -ChildPath 'NVIDIA Corporation\NVSMI\nvidia-smi.exe')
    )
    foreach ($candidate in $candidates) {
        if (Test-Path -LiteralPath $candidate -PathType Leaf) { return $candidate }
    }
    return $null
}

Function Invoke-Smi {
    # One nvidia-smi run; an executable that cannot start counts as rc 255.
    param($Path, [string[]]$Arguments)
    $commandLine = '"{0}" {1}' -f $Path, ($Arguments -join ' ')
    try {
        return Run-Command -command $commandLine.Trim()
    }
    catch {
        return @{ rc = 255; stdout = ''; stderr = $_.Exception.Message }
    }
}

$warnings = [System.Collections.Generic.List[string]]::new()
$source = [System.Collections.Generic.List[string]]::new()

$controllers = @()
try {
    $controllers = @(Get-CimInstance -ClassName Win32_VideoController -ErrorAction Stop)
    $source.Add('cim')
}
catch {
    $warnings.Add(('Get-CimInstance Win32_VideoController failed: {0}' -f $_.Exception.Message))
}
$devices = Get-CimDevice -Controller $controllers
$hasNvidia = @($devices | Where-Object { $_['vendor'] -eq 'nvidia' }).Count -gt 0

$nvidiaDriver = $null
$cudaVersion = $null
$smiRc = $null
$smi = Find-NvidiaSmi -Override $module.Params.nvidia_smi -Warnings $warnings
if ($smi) {
    $fields = $SmiFields
    $query = @(('--query-gpu={0}' -f ($fields -join ',')), '--format=csv,noheader,nounits')
    $result = Invoke-Smi -Path $smi -Arguments $query
    if (Test-SmiRetryLegacy -Rc $result.rc -Stdout $result.stdout -Stderr $result.stderr) {
        $fields = $SmiFieldsLegacy
        $query = @(('--query-gpu={0}' -f ($fields -join ',')), '--format=csv,noheader,nounits')
        $result = Invoke-Smi -Path $smi -Arguments $query
    }
    $smiRc = [int]$result.rc
    if ($smiRc -eq 0) {
        $source.Add('nvidia-smi')
        $rows = ConvertFrom-SmiCsv -Text $result.stdout -Fields $fields
        Merge-SmiRow -Devices $devices -Rows $rows
        foreach ($row in $rows) {
            if ($row['driver_version']) {
                $nvidiaDriver = $row['driver_version']
                break
            }
        }
        $header = Invoke-Smi -Path $smi -Arguments @()
        if ($header.rc -eq 0) { $cudaVersion = Get-CudaVersion -HeaderText $header.stdout }
    }
    else {
        $warnings.Add((Get-SmiFailureWarning -Rc $result.rc -Stdout $result.stdout -Stderr $result.stderr))
    }
}
elseif ($hasNvidia) {
    $warnings.Add('An NVIDIA GPU is present but nvidia-smi.exe was not found: the NVIDIA driver is not installed.')
}
if (-not $nvidiaDriver) { $nvidiaDriver = Get-CimNvidiaDriver -Controller $controllers }

foreach ($dev in $devices) {
    if (-not $dev['name']) { $dev['name'] = Get-FallbackName -Vendor $dev['vendor'] -PciId $dev['pci_id'] }
}

# Confirm-SecureBootUEFI throws on BIOS firmware ("Cmdlet not supported on this
# platform") and without elevation; both leave the state unknown.
$secureBoot = $null
try {
    $secureBoot = [bool](Confirm-SecureBootUEFI -ErrorAction Stop)
    $source.Add('secure_boot_uefi')
}
catch {
    $secureBoot = $null
}

# _gpu.vendors_of / primary_vendor / build_facts
$present = @($devices | ForEach-Object { $_['vendor'] })
$vendors = @($VendorPriority | Where-Object { $present -contains $_ })
$vendor = 'none'
if ($vendors.Count -gt 0) { $vendor = $vendors[0] }

$facts = @{
    vendor = $vendor
    vendors = $vendors
    devices = $devices
    nvidia_driver = $nvidiaDriver
    cuda_driver_version = $cudaVersion
    kernel_module_loaded = $null
    kernel_module_flavor = $null
    nouveau_loaded = $null
    secure_boot = $secureBoot
    mps_available = $null
    nvidia_smi = $smi
    nvidia_smi_rc = $smiRc
    source = @($source)
    warnings = @($warnings)
}

foreach ($warning in $warnings) { $module.Warn($warning) }
$module.Result.changed = $false
$module.Result.ansible_facts = @{ torchfleet_gpu = $facts }
$module.ExitJson()
