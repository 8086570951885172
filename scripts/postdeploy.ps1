# azd postdeploy hook (Windows): subscribes the blob_intake function to the BlobCreated events of
# the intake container (retry policy, dead-letter container), then, when this deployment created
# the AI Services account, sets its Content Understanding defaults. It mirrors postdeploy.sh (read
# that one for the why); by hand: pwsh ./scripts/postdeploy.ps1
# Every az call names azd's subscription: the Azure CLI's own default may be another one.
# The blobs_extension key and the token are secrets: never printed; az's errors are redacted.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$FunctionName = 'blob_intake'
$SubscriptionName = 'intake-blob-created'
$Attempts = if ($env:POSTDEPLOY_ATTEMPTS) { [int]$env:POSTDEPLOY_ATTEMPTS } else { 30 }
$WaitSeconds = if ($env:POSTDEPLOY_WAIT_SECONDS) { [int]$env:POSTDEPLOY_WAIT_SECONDS } else { 10 }
$MaxDeliveryAttempts = 10
$EventTtlMinutes = 1440
$CuApiVersion = '2025-11-01'
$CuTokenResource = 'https://cognitiveservices.azure.com'

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
        Stop-Hook "$tool is not installed (see docs/deployment.md)"
    }
}

$subscriptionId = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$appName = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
$appUrl = Get-AzdValue 'AZURE_FUNCTION_APP_URL'
$resourceGroup = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$topicName = Get-AzdValue 'AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME'
$deadLetterContainerId = Get-AzdValue 'AZURE_EVENT_GRID_DEAD_LETTER_CONTAINER_ID'
$intakeContainer = Get-AzdValue 'INTAKE_CONTAINER'
$setCuDefaults = Get-AzdValue 'CONTENT_UNDERSTANDING_SET_DEFAULTS'

$errors = New-TemporaryFile
try {
    Write-Host "Waiting for the blobs_extension key of $appName (the host creates it when it starts)..."
    $key = ''
    for ($attempt = 1; $attempt -le $Attempts; $attempt++) {
        # A request wakes an app that has scaled to zero; its answer does not matter.
        try { Invoke-WebRequest -Uri "$appUrl/api/health" -TimeoutSec 30 -UseBasicParsing | Out-Null } catch { }
        $output = & az functionapp keys list --subscription $subscriptionId --name $appName `
            --resource-group $resourceGroup --query 'systemKeys.blobs_extension' --output tsv 2> $errors.FullName
        if ($LASTEXITCODE -eq 0 -and $output) {
            $key = "$output".Trim()
            break
        }
        if ($attempt -lt $Attempts) { Start-Sleep -Seconds $WaitSeconds }
    }
    if (-not $key) {
        [Console]::Error.WriteLine((Hide-Key (Get-Content -Raw $errors.FullName)))
        Stop-Hook "no blobs_extension key after $Attempts attempts: is the app running? (docs/deployment.md, Troubleshooting)"
    }

    $endpoint = "$appUrl/runtime/webhooks/blobs?functionName=Host.Functions.$FunctionName&code=$key"
    # az is a .cmd file on Windows: without quotes of its own, cmd.exe would split the URL at '&'.
    $endpointArgument = '"' + $endpoint + '"'

    Write-Host "Subscribing $FunctionName to BlobCreated events in container '$intakeContainer'..."
    # Event Grid validates a new webhook with a handshake, which a cold app can miss: retry.
    for ($attempt = 1; ; $attempt++) {
        & az eventgrid system-topic event-subscription create `
            --subscription $subscriptionId `
            --name $SubscriptionName `
            --resource-group $resourceGroup `
            --system-topic-name $topicName `
            --endpoint-type webhook `
            --endpoint $endpointArgument `
            --included-event-types Microsoft.Storage.BlobCreated `
            --subject-begins-with "/blobServices/default/containers/$intakeContainer/" `
            --max-delivery-attempts $MaxDeliveryAttempts `
            --event-ttl $EventTtlMinutes `
            --deadletter-identity systemassigned `
            --deadletter-identity-endpoint $deadLetterContainerId `
            --output none 2> $errors.FullName
        if ($LASTEXITCODE -eq 0) { break }
        [Console]::Error.WriteLine((Hide-Key (Get-Content -Raw $errors.FullName)))
        if ($attempt -ge 3) { Stop-Hook 'could not create the Event Grid subscription (docs/deployment.md, Troubleshooting)' }
        Start-Sleep -Seconds $WaitSeconds
    }
    Write-Host "Event Grid subscription '$SubscriptionName' delivers new blobs in '$intakeContainer' to $FunctionName."

    if ($setCuDefaults -ne 'true') {
        Write-Host 'Content Understanding defaults left as they are (an existing AI Services account).'
        exit 0
    }

    $cuEndpoint = Get-AzdValue 'AZURE_AI_SERVICES_ENDPOINT'
    $modelDeployments = Get-AzdValue 'CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS'
    $defaultsUrl = "$($cuEndpoint.TrimEnd('/'))/contentunderstanding/defaults?api-version=$CuApiVersion"

    Write-Host "Setting the Content Understanding defaults of $cuEndpoint (model and alias -> deployment)..."
    $token = & az account get-access-token --subscription $subscriptionId --resource $CuTokenResource `
        --query accessToken --output tsv 2> $errors.FullName
    if ($LASTEXITCODE -ne 0 -or -not $token) {
        [Console]::Error.WriteLine((Get-Content -Raw $errors.FullName))
        Stop-Hook "could not get a token for Content Understanding: run 'az login'"
    }
    $headers = @{ Authorization = "Bearer $("$token".Trim())" }
    $body = '{"modelDeployments":' + $modelDeployments + '}'
    for ($attempt = 1; ; $attempt++) {
        try {
            Invoke-RestMethod -Method Patch -Uri $defaultsUrl -Headers $headers -Body $body `
                -ContentType 'application/merge-patch+json' -TimeoutSec 60 | Out-Null
            Write-Host "Content Understanding defaults set: $modelDeployments"
            break
        }
        catch {
            $status = if ($_.Exception.Response) { [int]$_.Exception.Response.StatusCode } else { 0 }
            if ($status -eq 401 -or $status -eq 403) {
                # Data-plane access for the deployer is opt-in (AZURE_GRANT_DEPLOYER_ROLES); the app
                # itself sends the same map with every analysis, so it works without these defaults.
                [Console]::Error.WriteLine("postdeploy: warning: not allowed to set the Content Understanding defaults (HTTP $status).")
                [Console]::Error.WriteLine('postdeploy: the app is unaffected; for other callers, see docs/deployment.md (Content Understanding defaults).')
                break
            }
            if ($attempt -ge 3) { Stop-Hook "could not set the Content Understanding defaults (HTTP $status)" }
            Start-Sleep -Seconds $WaitSeconds
        }
    }
}
finally {
    Remove-Item -Force $errors.FullName -ErrorAction SilentlyContinue
}
