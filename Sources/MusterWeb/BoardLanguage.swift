/// The board's two languages. The parties' names are Chinese in either; only the labels change.
public enum BoardLanguage: String, Sendable, CaseIterable {
    case chinese = "zh"
    case english = "en"

    /// `?lang=zh|en` wins; otherwise the browser's first `Accept-Language` that is one of the two; otherwise Chinese.
    public static func chosen(query: FormFields, acceptLanguage: String?) -> BoardLanguage {
        if let asked = query["lang"].flatMap(BoardLanguage.init(rawValue:)) { return asked }
        for item in (acceptLanguage ?? "").split(separator: ",") {
            let tag = item.split(separator: ";").first.map { String($0).trimmedWhitespace.lowercased() } ?? ""
            if tag.hasPrefix("zh") { return .chinese }
            if tag.hasPrefix("en") { return .english }
        }
        return .chinese
    }

    var htmlTag: String { self == .chinese ? "zh-CN" : "en" }
    var other: BoardLanguage { self == .chinese ? .english : .chinese }
}

/// Every label the board shows, in both languages.
enum BoardLabel: String, CaseIterable {
    case title, summonsBoard, handoffs, assessment, audit, signedInAs, switchLanguage
    case openSummonses, closedSummonses, noSummonses, deadline, timeLeft, overdueBy, summoner, severity, location, opened, closed
    case party, status, delivered, acknowledged, reportedIn, eta, people, escalated, evaluation
    case waiting, onTime, late, missed, lateBy
    case blowWhistle, summonParties, summonPartiesHint, incident, details, deadlineHint, send
    case closeSummons, resolution, evaluate, score, comment, progressNote, addNote
    case dispatchHandoff, assignee, taskType, due, reference, dispatch, originator, state, result, accept, reject, complete, rate, reason, noHandoffs
    case onTimeRate, medianReportIn, p90ReportIn, averageEvaluation, handoffsReceived, medianCompletion, citizenRating, admissionRefusals
    case summonsesReceived, chartOnTime, chartReportIn, chartCompletion, noAssessment
    case logHead, logID, nextOffset, verification, pendingAcks, destination, count, oldest, refusalsByRule, rule, code, links, peer, lane, backlog, lag, lastError, none
    case refused, done, live, reconnecting
    case critical, high, medium, low

    func text(_ language: BoardLanguage) -> String {
        let pair = Self.texts[self] ?? (rawValue, rawValue)
        return language == .chinese ? pair.zh : pair.en
    }

    private static let texts: [BoardLabel: (zh: String, en: String)] = [
        .title: ("Muster 协同指挥看板", "Muster coordination board"),
        .summonsBoard: ("吹哨报到", "Summons board"),
        .handoffs: ("交办任务", "Hand-offs"),
        .assessment: ("考核", "Assessment"),
        .audit: ("审计", "Audit"),
        .signedInAs: ("当前身份", "Signed in as"),
        .switchLanguage: ("English", "中文"),
        .openSummonses: ("进行中的召集", "Open summonses"),
        .closedSummonses: ("已结束的召集", "Closed summonses"),
        .noSummonses: ("暂无召集", "No summonses"),
        .deadline: ("报到时限", "Deadline"),
        .timeLeft: ("剩余", "Time left"),
        .overdueBy: ("已超时", "Overdue by"),
        .summoner: ("吹哨方", "Summoner"),
        .severity: ("紧急程度", "Severity"),
        .location: ("地点", "Location"),
        .opened: ("发起时间", "Opened"),
        .closed: ("结束时间", "Closed"),
        .party: ("单位", "Party"),
        .status: ("状态", "Status"),
        .delivered: ("已送达", "Delivered"),
        .acknowledged: ("已签收", "Acknowledged"),
        .reportedIn: ("已报到", "Reported in"),
        .eta: ("预计到场", "ETA"),
        .people: ("人数", "People"),
        .escalated: ("已上报", "Escalated"),
        .evaluation: ("评价", "Evaluation"),
        .waiting: ("等待报到", "waiting"),
        .onTime: ("按时报到", "on time"),
        .late: ("迟到", "late"),
        .missed: ("未报到", "missed"),
        .lateBy: ("迟到", "late by"),
        .blowWhistle: ("吹哨", "Blow the whistle"),
        .summonParties: ("召集单位", "Summon"),
        .summonPartiesHint: ("单位编号或 类别@辖区，用逗号分隔", "party ids or KIND@JURISDICTION, comma-separated"),
        .incident: ("事件", "Incident"),
        .details: ("详情", "Details"),
        .deadlineHint: ("如 30m、1h", "e.g. 30m, 1h"),
        .send: ("发出", "Send"),
        .closeSummons: ("结束召集", "Close the summons"),
        .resolution: ("处置结果", "Resolution"),
        .evaluate: ("评价", "Evaluate"),
        .score: ("分数 (1–5)", "Score (1–5)"),
        .comment: ("意见", "Comment"),
        .progressNote: ("进展", "Progress note"),
        .addNote: ("添加进展", "Add the note"),
        .dispatchHandoff: ("交办任务", "Dispatch a hand-off"),
        .assignee: ("承办单位", "Assignee"),
        .taskType: ("任务类型", "Task type"),
        .due: ("办结时限", "Due"),
        .reference: ("工单编号", "Reference"),
        .dispatch: ("交办", "Dispatch"),
        .originator: ("交办方", "Originator"),
        .state: ("状态", "State"),
        .result: ("办理结果", "Result"),
        .accept: ("签收", "Accept"),
        .reject: ("退回", "Reject"),
        .complete: ("办结", "Complete"),
        .rate: ("评价", "Rate"),
        .reason: ("原因", "Reason"),
        .noHandoffs: ("暂无交办任务", "No hand-offs"),
        .onTimeRate: ("按时报到率", "On-time rate"),
        .medianReportIn: ("报到用时中位数", "Median report-in"),
        .p90ReportIn: ("报到用时 P90", "90th percentile report-in"),
        .averageEvaluation: ("平均评价", "Average evaluation"),
        .handoffsReceived: ("收到交办", "Hand-offs received"),
        .medianCompletion: ("办结用时中位数", "Median completion"),
        .citizenRating: ("群众评价", "Citizen rating"),
        .admissionRefusals: ("拒收次数", "Admission refusals"),
        .summonsesReceived: ("收到召集", "Summonses received"),
        .chartOnTime: ("各单位按时报到率", "On-time rate by party"),
        .chartReportIn: ("报到用时（中位数与 P90）", "Report-in time (median and 90th percentile)"),
        .chartCompletion: ("交办任务办结用时（中位数，群众评价）", "Hand-off completion time (median, citizen rating)"),
        .noAssessment: ("暂无考核数据", "Nothing to assess yet"),
        .logHead: ("日志头", "Log head"),
        .logID: ("日志编号", "Log id"),
        .nextOffset: ("下一位置", "Next offset"),
        .verification: ("校验", "Verification"),
        .pendingAcks: ("待确认投递", "Pending acknowledgements"),
        .destination: ("目的地", "Destination"),
        .count: ("数量", "Count"),
        .oldest: ("最早", "Oldest"),
        .refusalsByRule: ("按规则统计的拒绝", "Refusals by rule"),
        .rule: ("规则", "Rule"),
        .code: ("代码", "Code"),
        .links: ("联邦链路", "Federation links"),
        .peer: ("对端", "Peer"),
        .lane: ("通道", "Lane"),
        .backlog: ("积压", "Backlog"),
        .lag: ("延迟", "Lag"),
        .lastError: ("最近错误", "Last error"),
        .none: ("无", "none"),
        .refused: ("被拒绝", "Refused"),
        .done: ("已完成", "Done"),
        .live: ("实时", "live"),
        .reconnecting: ("正在重连", "reconnecting"),
        .critical: ("特急", "critical"),
        .high: ("紧急", "high"),
        .medium: ("较急", "medium"),
        .low: ("一般", "low"),
    ]
}
