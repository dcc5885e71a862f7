//! One file per command, one folder per command group. Each holds its clap `Args` (the doc
//! comments are the help text) and a `run(helper, args)` with the same signature.

pub mod approve;
pub mod assume;
pub mod assumptions;
pub mod bead;
pub mod blocked;
pub mod cost;
pub mod cron;
pub mod doctor;
pub mod gc;
pub mod generate;
pub mod hook;
pub mod hooks;
pub mod import;
pub mod init;
pub mod ledger;
pub mod log;
pub mod merge_driver;
pub mod pause;
pub mod plan;
pub mod queue;
pub mod ready;
pub mod reject;
pub mod resolve;
pub mod revise;
pub mod rollback;
pub mod show;
pub mod status;
pub mod step;
pub mod steps;
pub mod tick;
pub mod watch;

use clap::Subcommand;

use super::{CommandHelper, CommandResult};

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    #[command(subcommand)]
    Bead(bead::Command),
    Ready(ready::Args),
    Blocked(blocked::Args),
    Show(show::Args),
    Step(step::Args),
    Steps(steps::Args),
    Log(log::Args),
    Status(status::Args),
    Watch(watch::Args),
    Gc(gc::Args),
    Approve(approve::Args),
    Reject(reject::Args),
    Revise(revise::Args),
    Rollback(rollback::Args),
    Queue(queue::Args),
    Plan(plan::Args),
    Tick(tick::Args),
    Pause(pause::PauseArgs),
    Resume(pause::ResumeArgs),
    #[command(subcommand)]
    Cron(cron::Command),
    Assume(assume::Args),
    Assumptions(assumptions::ListArgs),
    #[command(subcommand)]
    Assumption(assumptions::Command),
    #[command(subcommand)]
    Ledger(ledger::Command),
    Cost(cost::Args),
    #[command(subcommand)]
    Hooks(hooks::Command),
    Doctor(doctor::Args),
    Resolve(resolve::Args),
    #[command(subcommand)]
    Import(import::Command),
    #[command(subcommand, hide = true)]
    Hook(hook::Command),
    #[command(hide = true)]
    MergeDriver(merge_driver::Args),
    #[command(hide = true)]
    Generate(generate::Args),
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    match command {
        Command::Init(args) => init::run(helper, args),
        Command::Bead(cmd) => bead::run(helper, cmd),
        Command::Ready(args) => ready::run(helper, args),
        Command::Blocked(args) => blocked::run(helper, args),
        Command::Show(args) => show::run(helper, args),
        Command::Step(args) => step::run(helper, args),
        Command::Steps(args) => steps::run(helper, args),
        Command::Log(args) => log::run(helper, args),
        Command::Status(args) => status::run(helper, args),
        Command::Watch(args) => watch::run(helper, args),
        Command::Gc(args) => gc::run(helper, args),
        Command::Approve(args) => approve::run(helper, args),
        Command::Reject(args) => reject::run(helper, args),
        Command::Revise(args) => revise::run(helper, args),
        Command::Rollback(args) => rollback::run(helper, args),
        Command::Queue(args) => queue::run(helper, args),
        Command::Plan(args) => plan::run(helper, args),
        Command::Tick(args) => tick::run(helper, args),
        Command::Pause(args) => pause::run_pause(helper, args),
        Command::Resume(args) => pause::run_resume(helper, args),
        Command::Cron(cmd) => cron::run(helper, cmd),
        Command::Assume(args) => assume::run(helper, args),
        Command::Assumptions(args) => assumptions::list(helper, args),
        Command::Assumption(cmd) => assumptions::run(helper, cmd),
        Command::Ledger(cmd) => ledger::run(helper, cmd),
        Command::Cost(args) => cost::run(helper, args),
        Command::Hooks(cmd) => hooks::run(helper, cmd),
        Command::Doctor(args) => doctor::run(helper, args),
        Command::Resolve(args) => resolve::run(helper, args),
        Command::Import(cmd) => import::run(helper, cmd),
        Command::Hook(cmd) => hook::run(helper, cmd),
        Command::MergeDriver(args) => merge_driver::run(helper, args),
        Command::Generate(args) => generate::run(helper, args),
    }
}
