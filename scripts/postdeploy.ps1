# azd postdeploy hook (Windows): subscribes the blob_intake function to the BlobCreated events of
# the intake container, through the storage account's Event Grid system topic. It mirrors
# postdeploy.sh (read that one for the why); by hand: pwsh ./scripts/postdeploy.ps1
# The blobs_extension key is a secret: it is never printed, and az's error messages are redacted.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$FunctionName = 'blob_intake'
$SubscriptionName = 'intake-blob-created'
$Attempts = if ($env:POSTDEPLOY_ATTEMPTS) { [int]$env:POSTDEPLOY_ATTEMPTS } else { 30 }
$WaitSeconds = if ($env:POSTDEPLOY_WAIT_SECONDS) { [int]$env:POSTDEPLOY_WAIT_SECONDS } else { 10 }

function Stop-Hook([string]$Message) {
    [Console]::Error.WriteLine("postdeploy: $Message")
    exit 1
}

function Hide-Key([string]$Text) {
    return ($Text -replace 'code=[^&"\s]*', 'code=REDACTED')
}

# An azd environment value: azd exports them to hooks; by hand, ask azd.
function Get-AzdValue([string]$Name) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if (-not $value) {
        $value = (& azd env get-value $Name 2>$null)
    }
    if (-not $value) {
        Stop-Hook "$Name is not set in the azd environment: run 'azd provision' first"
    }
    return "$value".Trim()
}

foreach ($tool in @('az', 'azd')) {
    if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) {
        Stop-Hook "$tool is not installed (see README.md, Deploy to Azure)"
    }
}

$appName = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
$appUrl = Get-AzdValue 'AZURE_FUNCTION_APP_URL'
$resourceGroup = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$topicName = Get-AzdValue 'AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME'
$intakeContainer = Get-AzdValue 'INTAKE_CONTAINER'

$errors = New-TemporaryFile
try {
    Write-Host "Waiting for the blobs_extension key of $appName (the host creates it when it starts)..."
    $key = ''
    for ($attempt = 1; $attempt -le $Attempts; $attempt++) {
        # A request wakes an app that has scaled to zero; its answer does not matter.
        try { Invoke-WebRequest -Uri "$appUrl/api/health" -TimeoutSec 30 -UseBasicParsing | Out-Null } catch { }
        $output = & az functionapp keys list --name $appName --resource-group $resourceGroup `
            --query 'systemKeys.blobs_extension' --output tsv 2> $errors.FullName
        if ($LASTEXITCODE -eq 0 -and $output) {
            $key = "$output".Trim()
            break
        }
        if ($attempt -lt $Attempts) { Start-Sleep -Seconds $WaitSeconds }
    }
    if (-not $key) {
        [Console]::Error.WriteLine((Hide-Key (Get-Content -Raw $errors.FullName)))
        Stop-Hook "no blobs_extension key after $Attempts attempts: is the app running? (README.md, Troubleshooting)"
    }

    $endpoint = "$appUrl/runtime/webhooks/blobs?functionName=Host.Functions.$FunctionName&code=$key"
    # az is a .cmd file on Windows: without quotes of its own, cmd.exe would split the URL at '&'.
    $endpointArgument = '"' + $endpoint + '"'

    Write-Host "Subscribing $FunctionName to BlobCreated events in container '$intakeContainer'..."
    # Event Grid validates a new webhook with a handshake, which a cold app can miss: retry.
    for ($attempt = 1; ; $attempt++) {
        & az eventgrid system-topic event-subscription create `
            --name $SubscriptionName `
            --resource-group $resourceGroup `
            --system-topic-name $topicName `
            --endpoint-type webhook `
            --endpoint $endpointArgument `
            --included-event-types Microsoft.Storage.BlobCreated `
            --subject-begins-with "/blobServices/default/containers/$intakeContainer/" `
            --output none 2> $errors.FullName
        if ($LASTEXITCODE -eq 0) { break }
        [Console]::Error.WriteLine((Hide-Key (Get-Content -Raw $errors.FullName)))
        if ($attempt -ge 3) { Stop-Hook 'could not create the Event Grid subscription (README.md, Troubleshooting)' }
        Start-Sleep -Seconds $WaitSeconds
    }
    Write-Host "Event Grid subscription '$SubscriptionName' delivers new blobs in '$intakeContainer' to $FunctionName."
}
finally {
    Remove-Item -Force $errors.FullName -ErrorAction SilentlyContinue
}
