#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds ManagedVmm, its guest images, and runs its tests.
.DESCRIPTION
    build.ps1 [-Task build|images|test|all] [-Configuration Debug|Release] [-Filter <test filter>]
    'images' rebuilds guest-images/ and firmware/ with make (gcc 12) where a Makefile exists and checks that
    the committed prebuilt images match; 'all' (the default) builds, rebuilds images, and runs the tests.
.EXAMPLE
    ./build.ps1 -Task test -Filter "FullyQualifiedName~Pci"
#>
[CmdletBinding()]
param(
    [ValidateSet('build', 'images', 'test', 'all')]
    [string] $Task = 'all',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',

    [string] $Filter = ''
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot

function Invoke-Step {
    param([string] $Name, [scriptblock] $Action)
    Write-Host "==> $Name" -ForegroundColor Cyan
    & $Action
    if ($LASTEXITCODE -ne 0) {
        throw "$Name failed with exit code $LASTEXITCODE"
    }
}

function Invoke-Build {
    Invoke-Step 'dotnet build' { dotnet build (Join-Path $root 'ManagedVmm.sln') -c $Configuration }
}

function Invoke-Images {
    foreach ($dir in @('firmware', 'guest-images')) {
        $makefile = Join-Path (Join-Path $root $dir) 'Makefile'
        if (Test-Path $makefile) {
            Invoke-Step "make -C $dir check-reproducible" { make -C (Join-Path $root $dir) check-reproducible }
        }
        else {
            Write-Host "==> $dir has no Makefile yet; skipped"
        }
    }
}

function Invoke-Tests {
    $testArgs = @('test', (Join-Path $root 'ManagedVmm.sln'), '-c', $Configuration)
    if ($Filter -ne '') {
        $testArgs += @('--filter', $Filter)
    }
    Invoke-Step 'dotnet test' { dotnet @testArgs }
}

switch ($Task) {
    'build' { Invoke-Build }
    'images' { Invoke-Images }
    'test' { Invoke-Tests }
    'all' {
        Invoke-Build
        Invoke-Images
        Invoke-Tests
    }
}
