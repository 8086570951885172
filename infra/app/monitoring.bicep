// Log Analytics and a workspace-based Application Insights that accepts only Microsoft Entra ID
// authenticated telemetry (disableLocalAuth): the app sends it as its managed identity, which
// needs the Monitoring Metrics Publisher role (rbac.bicep).

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = appInsights.name
// Not a secret: with local authentication disabled, the instrumentation key alone cannot send data.
output connectionString string = appInsights.properties.ConnectionString
output logAnalyticsName string = workspace.name
output logAnalyticsWorkspaceId string = workspace.id
