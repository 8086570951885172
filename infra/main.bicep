// Everything `azd up` creates for the Content Understanding pipeline: a resource group holding a
// Python Function App on the Flex Consumption plan, its storage, identity, monitoring, an Event
// Grid system topic for blob intake and (unless an existing one is given) an Azure AI Services
// account with Content Understanding. No keys anywhere: every connection uses the app's
// user-assigned managed identity and the roles granted in app/rbac.bicep.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it names the resource group and seeds resourceToken.')
param environmentName string

@minLength(1)
@description('Region of every resource (except, optionally, AI Services). Regions that offer the Flex Consumption plan.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs azd (AZURE_PRINCIPAL_ID, set by azd). Used only with grantDeployerRoles.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Give principalId the same data-plane roles as the app (blobs, queues, tables, Content Understanding, telemetry), to run the app locally against these resources. Off by default: production deployers need no data access.')
param grantDeployerRoles bool = false

@description('Endpoint of an existing AI Services resource with Content Understanding (https://<name>.cognitiveservices.azure.com/). Empty: create one. With an existing one, grant the app identity "Cognitive Services User" on it yourself.')
param existingAiServicesEndpoint string = ''

// The regions that offer Content Understanding (language-region-support page, checked December
// 2026). tests/deployment/test_models_and_regions.py holds the same list with its source.
@description('Region of the AI Services account this template creates. Empty: `location`, which then must offer Content Understanding (ai-services.bicep allows only these regions).')
@allowed([
  ''
  'australiaeast'
  'eastus'
  'eastus2'
  'northeurope'
  'southcentralus'
  'southeastasia'
  'swedencentral'
  'uksouth'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
param aiServicesLocation string = ''

@description('Content Understanding API version of per-document jobs: the GA version. The pro-mode preview version is retired in Azure and deliberately not offered here.')
@allowed([
  '2025-11-01'
])
param contentUnderstandingApiVersion string = '2025-11-01'

// Models: Content Understanding's GA API needs a completion and an embedding model. The defaults
// are Microsoft's recommendation for Content Understanding (December 2026); the retirement dates
// they are checked against are in tests/deployment/test_models_and_regions.py.
@description('Completion model deployed for Content Understanding (also serves the prebuilt analyzers\' completion and completion-mini aliases).')
param completionModelName string = 'gpt-5.2'
param completionModelVersion string = '2025-12-11'
@description('Thousands of tokens per minute; counts against the subscription\'s quota for the model and SKU in the region.')
@minValue(1)
param completionModelCapacity int = 50

@description('Embedding model deployed for Content Understanding (also serves the prebuilt analyzers\' embedding alias).')
param embeddingModelName string = 'text-embedding-3-large'
param embeddingModelVersion string = '1'
@minValue(1)
param embeddingModelCapacity int = 50

@description('Deployment type of both models. GlobalStandard has the widest availability and quota; DataZoneStandard keeps processing in the data zone (EU or US).')
@allowed([
  'GlobalStandard'
  'DataZoneStandard'
  'Standard'
])
param modelDeploymentSku string = 'GlobalStandard'

@description('Model or alias name -> deployment name, sent with every GA analysis and set as the resource\'s defaults. Empty: derived from the deployments above. Set it when an existing resource names its deployments differently (include the prebuilt-analyzer-* aliases).')
param modelDeploymentNames object = {}

@description('Most instances the app scales out to (Flex Consumption allows 1 to 1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Private networking: a virtual network, the app\'s outbound traffic through it, storage reached through private endpoints and closed to other networks (see docs/deployment.md for what still comes in and what it costs).')
param vnetEnabled bool = false

@description('Availability-zone redundancy: zone-redundant storage (ZRS), a zone-redundant plan and two always-ready instances (see docs/deployment.md for the cost).')
param zoneRedundant bool = false

@description('Send the resource logs and metrics of the app, storage, Event Grid and AI Services to the Log Analytics workspace (billed per GB ingested).')
param diagnosticSettingsEnabled bool = true

@description('Backend of the Durable Functions task hub: the Durable Task Scheduler (recommended; a portal dashboard of every orchestration) or the Azure Storage provider (queues and tables in the app\'s storage account).')
@allowed([
  'DurableTaskScheduler'
  'AzureStorage'
])
param durableBackend string = 'DurableTaskScheduler'

@description('SKU of the Durable Task Scheduler: Consumption (billed per action) or Dedicated (reserved capacity units).')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('Finished orchestration instances older than this many days are purged every hour (app setting INSTANCE_HISTORY_RETENTION_DAYS).')
@minValue(1)
param historyRetentionDays int = 30

@description('Result documents (results container) are deleted this many days after their last change.')
@minValue(1)
param resultsRetentionDays int = 30

@description('Ingested inputs (inputs container) are deleted this many days after their last change.')
@minValue(1)
param inputsRetentionDays int = 7

@description('E-mail address for the alert rules. Empty: alerts show in the portal only.')
param alertEmail string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
// Flex Consumption reads the app's code package from this container.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
// Event Grid puts intake events it could not deliver here (the postdeploy hook configures it).
var deadLetterContainerName = 'event-dead-letters'

// The app's containers; the names are also the *_CONTAINER app settings below.
var containers = {
  inputs: 'inputs'
  intake: 'intake'
  staging: 'staging'
  results: 'results'
  references: 'references'
  grants: 'grants'
  analyzers: 'analyzers'
}

var createAiServices = empty(existingAiServicesEndpoint)
var useDurableTaskScheduler = durableBackend == 'DurableTaskScheduler'
var logAnalyticsWorkspaceId = diagnosticSettingsEnabled ? monitoring.outputs.logAnalyticsWorkspaceId : ''

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
  }
}

// The model deployments this template creates, and the names Content Understanding resolves
// through them: model names for custom analyzers, aliases for the prebuilt analyzers.
var modelDeployments = [
  {
    name: completionModelName
    model: completionModelName
    version: completionModelVersion
    sku: modelDeploymentSku
    capacity: completionModelCapacity
  }
  {
    name: embeddingModelName
    model: embeddingModelName
    version: embeddingModelVersion
    sku: modelDeploymentSku
    capacity: embeddingModelCapacity
  }
]
// (Written out rather than with toObject/map lambdas, which the infrastructure linter's Bicep
// parser cannot read.)
var derivedModelDeploymentNames = {
  '${completionModelName}': completionModelName
  '${embeddingModelName}': embeddingModelName
  'prebuilt-analyzer-completion': completionModelName
  'prebuilt-analyzer-completion-mini': completionModelName
  'prebuilt-analyzer-embedding': embeddingModelName
}
var modelDeploymentsSetting = empty(modelDeploymentNames) ? derivedModelDeploymentNames : modelDeploymentNames

module aiServices 'app/ai-services.bicep' = if (createAiServices) {
  name: 'ai-services'
  scope: rg
  params: {
    name: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    location: empty(aiServicesLocation) ? location : aiServicesLocation
    tags: tags
    modelDeployments: modelDeployments
    logAnalyticsWorkspaceId: logAnalyticsWorkspaceId
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      deploymentContainerName
      deadLetterContainerName
      containers.inputs
      containers.intake
      containers.staging
      containers.results
      containers.references
      containers.grants
      containers.analyzers
    ]
    // Staged uploads and SAS claim-check blobs matter only while their job runs.
    shortLivedPrefixes: [
      '${containers.staging}/'
      '${containers.grants}/'
    ]
    // What a finished job leaves: its result documents, and the inputs it ingested.
    retentionRules: [
      {
        name: 'expire-results'
        prefix: '${containers.results}/'
        days: resultsRetentionDays
      }
      {
        name: 'expire-ingested-inputs'
        prefix: '${containers.inputs}/'
        days: inputsRetentionDays
      }
    ]
    zoneRedundant: zoneRedundant
    privateNetworking: vnetEnabled
    // With private networking, Content Understanding still reads inputs through SAS URLs from
    // outside the network: this resource-instance rule is its way in.
    trustedResourceIds: createAiServices ? [aiServices.outputs.id] : []
    logAnalyticsWorkspaceId: logAnalyticsWorkspaceId
  }
}

module storagePrivateEndpoints 'app/storage-private-endpoints.bicep' = if (vnetEnabled) {
  name: 'storage-private-endpoints'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    location: location
    tags: tags
    virtualNetworkName: vnetEnabled ? network.outputs.name : ''
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
  }
}

module appRoles 'app/rbac.bicep' = {
  name: 'rbac-app'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    principalType: 'ServicePrincipal'
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    aiServicesName: createAiServices ? aiServices.outputs.name : ''
  }
}

// Opt-in: the person or pipeline running azd gets data access only when asked for.
module deployerRoles 'app/rbac.bicep' = if (grantDeployerRoles && !empty(principalId)) {
  name: 'rbac-deployer'
  scope: rg
  params: {
    principalId: principalId
    principalType: principalType
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    aiServicesName: createAiServices ? aiServices.outputs.name : ''
  }
}

// The task hub's backend (durableBackend): the Durable Task Scheduler with its task hub, the
// app's role on it (and the deployer's, for the dashboard, with grantDeployerRoles).
module durableTaskScheduler 'app/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: location
    tags: tags
    taskHubName: appSettings.TASKHUB_NAME
    skuName: durableTaskSchedulerSku
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: grantDeployerRoles ? principalId : ''
    deployerPrincipalType: principalType
  }
}

// Every app setting the code and the Functions host read in Azure. local.settings.example.json
// holds the local counterparts; tests/deployment/test_deployment.py checks that the two agree.
var appSettings = {
  // Functions host storage (keys, Durable task hub): identity-based, as shared keys are disabled.
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId

  // Durable Functions: host.json names the hub %TASKHUB_NAME%; the backend's own settings are in
  // durableBackendSettings below.
  TASKHUB_NAME: 'cupipeline'
  AZURE_FUNCTIONS_DURABLE_STRICT_TYPING: '1'
  // Retention: the hourly purge_history timer purges finished instances older than this.
  INSTANCE_HISTORY_RETENTION_DAYS: string(historyRetentionDays)

  // Documents: the same account through the same identity. The blob trigger (Event Grid source)
  // uses this connection too, and a blob trigger needs the queue service URI as well.
  DocumentStorage__blobServiceUri: storage.outputs.blobEndpoint
  DocumentStorage__queueServiceUri: storage.outputs.queueEndpoint
  DocumentStorage__credential: 'managedidentity'
  DocumentStorage__clientId: identity.outputs.clientId
  INPUTS_CONTAINER: containers.inputs
  INTAKE_CONTAINER: containers.intake
  STAGING_CONTAINER: containers.staging
  RESULTS_CONTAINER: containers.results
  REFERENCES_CONTAINER: containers.references
  GRANTS_CONTAINER: containers.grants
  ANALYZERS_CONTAINER: containers.analyzers

  // Content Understanding with Microsoft Entra ID: CONTENT_UNDERSTANDING_KEY is deliberately
  // absent. DefaultAzureCredential picks the user-assigned identity from AZURE_CLIENT_ID.
  // Agentic jobs speak the version with agentic mode (a preview: there is no GA one yet).
  AZURE_CLIENT_ID: identity.outputs.clientId
  CONTENT_UNDERSTANDING_ENDPOINT: contentUnderstandingEndpoint
  CONTENT_UNDERSTANDING_API_VERSION: contentUnderstandingApiVersion
  CONTENT_UNDERSTANDING_AGENTIC_API_VERSION: '2026-06-01-preview'
  CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS: string(modelDeploymentsSetting)
  CONTENT_UNDERSTANDING_TIMEOUT_SECONDS: '30'
  DEFAULT_ANALYZER_ID: 'prebuilt-document'

  // Job limits and polling (the same values as locally).
  MAX_FILES_PER_JOB: '1000'
  MAX_FILE_BYTES: '104857600'
  MAX_JOB_BYTES: '104857600'
  UPLOAD_CONCURRENCY: '4'
  JOB_BATCH_SIZE: '50'
  // The Content Understanding resource's quotas (S0); raise them with the resource's quota.
  CU_OPERATIONS_PER_MINUTE: '3000'
  CU_PAGES_PER_MINUTE: '1000'
  POLL_INITIAL_INTERVAL_SECONDS: '1'
  POLL_MAX_INTERVAL_SECONDS: '15'
  ANALYSIS_DEADLINE_SECONDS: '1800'
  SAS_TTL_MINUTES: '120'
  // Never in Azure: URL inputs must be public https (no loopback or private addresses).
  ALLOW_LOCAL_URLS: 'false'

  // Telemetry as the managed identity (the resource accepts no key-only ingestion). The app
  // configures the Azure Monitor exporter itself (telemetry/setup.py); PYTHON_ENABLE_OPENTELEMETRY
  // makes the Python worker pass each invocation's trace context to it, and host.json's
  // telemetryMode sends the host's own telemetry through OpenTelemetry too.
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  PYTHON_ENABLE_OPENTELEMETRY: 'true'
}

// The settings that differ by backend. host.json stays the Azure Storage provider's (what Core
// Tools runs locally against Azurite); these app settings override its storageProvider in Azure
// (the host reads AzureFunctionsJobHost__<path> as host.json's <path>).
var schedulerSettings = {
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  // No secret: the app authenticates as its managed identity (ClientID).
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}'
}
var azureStorageSettings = {
  // On Flex Consumption the Azure Storage provider should poll its queues at least every 10 s
  // (default 30 s), or timers and fan-in lag on a quiet app.
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval: '00:00:10'
}
var schedulerEndpoint = useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''
var durableBackendSettings = useDurableTaskScheduler ? schedulerSettings : azureStorageSettings

var contentUnderstandingEndpoint = createAiServices ? aiServices.outputs.endpoint : existingAiServicesEndpoint

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    appSettings: union(appSettings, durableBackendSettings)
    instanceMemoryMB: 2048
    maximumInstanceCount: maximumInstanceCount
    // Zone redundancy needs at least two always-ready instances per group.
    durableAlwaysReadyInstances: zoneRedundant ? 2 : 1
    zoneRedundant: zoneRedundant
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    logAnalyticsWorkspaceId: logAnalyticsWorkspaceId
  }
  // The host must be able to reach its storage when it first starts.
  dependsOn: [
    appRoles
    storagePrivateEndpoints
  ]
}

// The workbook and the alert rules on Application Insights (queries in infra/monitoring/).
module monitoringDashboards 'app/monitoring-dashboards.bicep' = {
  name: 'monitoring-dashboards'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    analysisDeadlineSeconds: int(appSettings.ANALYSIS_DEADLINE_SECONDS)
    alertEmail: alertEmail
  }
}

module eventGrid 'app/event-grid.bicep' = {
  name: 'event-grid'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deadLetterContainerName: deadLetterContainerName
    logAnalyticsWorkspaceId: logAnalyticsWorkspaceId
  }
}

// Outputs become azd environment values (`azd env get-values`); the postdeploy hooks read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output AZURE_EVENT_GRID_DEAD_LETTER_CONTAINER_ID string = eventGrid.outputs.deadLetterContainerId
output AZURE_AI_SERVICES_ENDPOINT string = contentUnderstandingEndpoint
// 'true' when this template created the AI Services account: only then does the postdeploy hook
// set the account's Content Understanding defaults (an existing account's are its owner's).
output CONTENT_UNDERSTANDING_SET_DEFAULTS string = createAiServices ? 'true' : 'false'
output CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS string = string(modelDeploymentsSetting)
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output DURABLE_BACKEND string = durableBackend
output DURABLE_TASK_SCHEDULER_NAME string = useDurableTaskScheduler ? durableTaskScheduler.outputs.name : ''
output DURABLE_TASK_SCHEDULER_DASHBOARD_URL string = useDurableTaskScheduler ? durableTaskScheduler.outputs.dashboardUrl : ''
output MONITORING_WORKBOOK_ID string = monitoringDashboards.outputs.workbookId
output INTAKE_CONTAINER string = containers.intake
