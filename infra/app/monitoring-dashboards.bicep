// The portal side of monitoring, as code: an Azure Monitor workbook on Application Insights and
// log alert rules. Every query is a file in infra/monitoring/ (the same text is in
// docs/operations.md, to run by hand); tests/telemetry/test_queries.py checks that the queries
// name only tables, columns and attributes the app's telemetry writes.

param location string
param tags object

@description('Name of the Application Insights component the queries run against.')
param applicationInsightsName string

@description('ANALYSIS_DEADLINE_SECONDS of the app: a job unfinished well after it raises an alert.')
@minValue(1)
param analysisDeadlineSeconds int

@description('Where alerts are e-mailed. Empty: alerts fire in the portal only (no action group).')
param alertEmail string = ''

@description('Content Understanding calls meeting 429s per 5 minutes, for three windows in a row, that count as sustained throttling.')
@minValue(1)
param throttledCallsThreshold int = 10

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var queries = {
  jobsByStatus: loadTextContent('../monitoring/jobs-by-status.kql')
  jobDuration: loadTextContent('../monitoring/job-duration.kql')
  stepDuration: loadTextContent('../monitoring/step-duration.kql')
  inputsFailedByCode: loadTextContent('../monitoring/inputs-failed-by-code.kql')
  cuThrottling: loadTextContent('../monitoring/cu-throttling.kql')
  analysisTimePerPage: loadTextContent('../monitoring/analysis-time-per-page.kql')
}

// The workbook's content (schema Notebook/1.0): a time range parameter, then one query per item.
var workbookItems = [
  {
    type: 1
    name: 'title'
    content: {
      json: '## Content Understanding pipeline\nJobs, stages, failures and Content Understanding throttling. The queries are in infra/monitoring/ and docs/operations.md.'
    }
  }
  {
    type: 9
    name: 'time'
    content: {
      version: 'KqlParameterItem/1.0'
      parameters: [
        {
          id: 'time-range'
          version: 'KqlParameterItem/1.0'
          name: 'TimeRange'
          type: 4
          isRequired: true
          value: {
            durationMs: 86400000
          }
          typeSettings: {
            selectableValues: [
              {
                durationMs: 3600000
              }
              {
                durationMs: 86400000
              }
              {
                durationMs: 604800000
              }
            ]
          }
        }
      ]
    }
  }
  {
    type: 3
    name: 'jobs-by-status'
    content: {
      version: 'KqlItem/1.0'
      title: 'Jobs by status'
      query: queries.jobsByStatus
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: 'timechart'
    }
  }
  {
    type: 3
    name: 'job-duration'
    content: {
      version: 'KqlItem/1.0'
      title: 'Job duration p50 / p95 (seconds)'
      query: queries.jobDuration
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: 'timechart'
    }
  }
  {
    type: 3
    name: 'step-duration'
    content: {
      version: 'KqlItem/1.0'
      title: 'Time per stage (activity p50 / p95, ms)'
      query: queries.stepDuration
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: 'table'
    }
  }
  {
    type: 3
    name: 'inputs-failed-by-code'
    content: {
      version: 'KqlItem/1.0'
      title: 'Inputs failed by error code'
      query: queries.inputsFailedByCode
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: 'barchart'
    }
  }
  {
    type: 3
    name: 'cu-throttling'
    content: {
      version: 'KqlItem/1.0'
      title: 'Content Understanding calls, 429s and retries'
      query: queries.cuThrottling
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: 'timechart'
    }
  }
  {
    type: 3
    name: 'analysis-time-per-page'
    content: {
      version: 'KqlItem/1.0'
      title: 'Analysis time per page (seconds)'
      query: queries.analysisTimePerPage
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: 'timechart'
    }
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's resource name must be a GUID.
  name: guid(appInsights.id, 'cu-pipeline-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Content Understanding pipeline'
    category: 'workbook'
    sourceId: appInsights.id
    version: 'Notebook/1.0'
    serializedData: string({
      version: 'Notebook/1.0'
      items: workbookItems
      isLocked: false
    })
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${applicationInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: 'cu-pipeline'
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// The deadline alert's query with this deployment's ANALYSIS_DEADLINE_SECONDS.
var deadlineQuery = replace(loadTextContent('../monitoring/alert-jobs-past-deadline.kql'), 'let analysis_deadline = 1800s;', 'let analysis_deadline = ${analysisDeadlineSeconds}s;')

// One row per occurrence in every alert query; a rule fires when the count passes its threshold.
var alerts = [
  {
    name: 'failed-jobs'
    displayName: 'Jobs failed'
    description: 'A job finished with status failed (docs/operations.md, Reading a failed job).'
    severity: 2
    query: loadTextContent('../monitoring/alert-failed-jobs.kql')
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    periods: 1
    overrideQueryTimeRange: ''
  }
  {
    name: 'jobs-past-deadline'
    displayName: 'Jobs past the analysis deadline'
    description: 'A job is still unfinished long after ANALYSIS_DEADLINE_SECONDS, or an input\'s analysis hit the deadline.'
    severity: 2
    query: deadlineQuery
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT15M'
    periods: 1
    // The query looks a day back for jobs that started and never finished.
    overrideQueryTimeRange: 'P1D'
  }
  {
    name: 'http-5xx'
    displayName: 'HTTP 5xx answers'
    description: 'The API answered 5xx (a dependency unavailable, or a bug).'
    severity: 2
    query: loadTextContent('../monitoring/alert-http-5xx.kql')
    threshold: 0
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    periods: 1
    overrideQueryTimeRange: ''
  }
  {
    name: 'sustained-429s'
    displayName: 'Content Understanding throttling (sustained 429s)'
    description: 'Content Understanding answered 429 to many calls for 15 minutes: raise the quota or lower the load.'
    severity: 3
    query: loadTextContent('../monitoring/alert-cu-throttling.kql')
    threshold: throttledCallsThreshold
    windowSize: 'PT5M'
    evaluationFrequency: 'PT5M'
    periods: 3
    overrideQueryTimeRange: ''
  }
]

var actionGroups = empty(alertEmail) ? [] : [actionGroup.id]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for alert in alerts: {
    name: 'alert-${alert.name}-${applicationInsightsName}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: alert.displayName
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [
        appInsights.id
      ]
      evaluationFrequency: alert.evaluationFrequency
      windowSize: alert.windowSize
      overrideQueryTimeRange: empty(alert.overrideQueryTimeRange) ? null : alert.overrideQueryTimeRange
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: alert.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: alert.periods
              minFailingPeriodsToAlert: alert.periods
            }
          }
        ]
      }
      actions: {
        actionGroups: actionGroups
      }
    }
  }
]

output workbookId string = workbook.id
output alertRuleNames array = [for (alert, i) in alerts: alertRules[i].name]
