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

@description('Object id of whoever runs azd (AZURE_PRINCIPAL_ID). It gets the same data roles as the app, to run the app locally against these resources. Empty: no roles.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Endpoint of an existing AI Services resource with Content Understanding (https://<name>.cognitiveservices.azure.com/). Empty: create one. With an existing one, grant the app identity "Cognitive Services User" on it yourself.')
param existingAiServicesEndpoint string = ''

@description('Region of the AI Services account this template creates, when Content Understanding is not offered in `location`. Empty: `location`.')
param aiServicesLocation string = ''

@description('Content Understanding API version of per-document jobs. 2025-05-01-preview (pro mode) is retired in Azure.')
@allowed([
  '2025-11-01'
  '2025-05-01-preview'
])
param contentUnderstandingApiVersion string = '2025-11-01'

@description('Model deployments created on a new AI Services account (GA Content Understanding needs a completion and an embedding model). Capacity is in thousands of tokens per minute and counts against your quota.')
param modelDeployments array = [
  {
    name: 'gpt-4.1'
    model: 'gpt-4.1'
    version: '2025-04-14'
    sku: 'GlobalStandard'
    capacity: 50
  }
  {
    name: 'gpt-4.1-mini'
    model: 'gpt-4.1-mini'
    version: '2025-04-14'
    sku: 'GlobalStandard'
    capacity: 50
  }
  {
    name: 'text-embedding-3-large'
    model: 'text-embedding-3-large'
    version: '1'
    sku: 'GlobalStandard'
    capacity: 50
  }
]

@description('Model name -> deployment name, sent with every GA analysis. Empty: derived from modelDeployments. Set it when an existing resource names its deployments differently.')
param modelDeploymentNames object = {}

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
// Flex Consumption reads the app's code package from this container.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

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

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: concat([deploymentContainerName], map(items(containers), entry => entry.value))
    // Staged uploads and SAS claim-check blobs matter only while their job runs.
    shortLivedPrefixes: [
      '${containers.staging}/'
      '${containers.grants}/'
    ]
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

module aiServices 'app/ai-services.bicep' = if (createAiServices) {
  name: 'ai-services'
  scope: rg
  params: {
    name: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    location: empty(aiServicesLocation) ? location : aiServicesLocation
    tags: tags
    modelDeployments: modelDeployments
  }
}

var contentUnderstandingEndpoint = createAiServices ? aiServices.outputs.endpoint : existingAiServicesEndpoint
var derivedModelDeploymentNames = toObject(modelDeployments, d => d.model, d => d.name)
var modelDeploymentsSetting = empty(modelDeploymentNames) ? derivedModelDeploymentNames : modelDeploymentNames

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

module deployerRoles 'app/rbac.bicep' = if (!empty(principalId)) {
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

// Every app setting the code and the Functions host read in Azure. local.settings.example.json
// holds the local counterparts; tests/unit/test_deployment.py checks that the two agree.
var appSettings = {
  // Functions host storage (keys, Durable task hub): identity-based, as shared keys are disabled.
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId

  // Durable Functions: host.json names the hub %TASKHUB_NAME%. On Flex Consumption the Azure
  // Storage provider should poll its queues at least every 10 s (default 30 s), or timers and
  // fan-in lag on a quiet app; this overrides host.json in Azure only.
  TASKHUB_NAME: 'cupipeline'
  AZURE_FUNCTIONS_DURABLE_STRICT_TYPING: '1'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval: '00:00:10'

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
  AZURE_CLIENT_ID: identity.outputs.clientId
  CONTENT_UNDERSTANDING_ENDPOINT: contentUnderstandingEndpoint
  CONTENT_UNDERSTANDING_API_VERSION: contentUnderstandingApiVersion
  CONTENT_UNDERSTANDING_PRO_MODE_API_VERSION: '2025-05-01-preview'
  CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS: string(modelDeploymentsSetting)
  CONTENT_UNDERSTANDING_TIMEOUT_SECONDS: '30'
  DEFAULT_ANALYZER_ID: 'prebuilt-document'

  // Job limits and polling (the same values as locally).
  MAX_FILES_PER_JOB: '20'
  MAX_FILE_BYTES: '104857600'
  MAX_JOB_BYTES: '209715200'
  UPLOAD_CONCURRENCY: '4'
  POLL_INITIAL_INTERVAL_SECONDS: '1'
  POLL_MAX_INTERVAL_SECONDS: '15'
  ANALYSIS_DEADLINE_SECONDS: '1800'
  SAS_TTL_MINUTES: '120'
  // Never in Azure: URL inputs must be public https (no loopback or private addresses).
  ALLOW_LOCAL_URLS: 'false'

  // Telemetry as the managed identity (the resource accepts no key-only ingestion).
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
}

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
    appSettings: appSettings
    instanceMemoryMB: 2048
    maximumInstanceCount: 100
    durableAlwaysReadyInstances: 1
  }
  // The host must be able to reach its storage when it first starts.
  dependsOn: [
    appRoles
  ]
}

module eventGrid 'app/event-grid.bicep' = {
  name: 'event-grid'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

// Outputs become azd environment values (`azd env get-values`); the postdeploy hook reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output AZURE_AI_SERVICES_ENDPOINT string = contentUnderstandingEndpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output INTAKE_CONTAINER string = containers.intake
