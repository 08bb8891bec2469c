using System.Management.Automation.Language;

namespace ManagedVmm.Cli.Tests;

/// <summary>
/// PowerShell cannot be installed on the CI machines, so build.ps1 is checked with PowerShell's own parser:
/// it must parse without errors and offer the tasks the README documents.
/// </summary>
public sealed class BuildScriptTests
{
    [Test]
    public void BuildScript_ParsesWithoutErrors_AndOffersTheDocumentedTasks()
    {
        string path = Path.Combine(CliRunner.RepositoryRoot(), "build.ps1");
        var ast = Parser.ParseFile(path, out _, out ParseError[] errors);
        Assert.That(errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}"), Is.Empty);
        var task = ast.ParamBlock!.Parameters.Single(p => p.Name.VariablePath.UserPath == "Task");
        var validateSet = task.Attributes.OfType<AttributeAst>().Single(a => a.TypeName.Name == "ValidateSet");
        var tasks = validateSet.PositionalArguments.OfType<StringConstantExpressionAst>().Select(s => s.Value);
        Assert.That(tasks, Is.EquivalentTo(new[] { "build", "images", "test", "all" }));
    }

    [Test]
    public void BuildScript_DefinesEveryFunctionItCalls()
    {
        string path = Path.Combine(CliRunner.RepositoryRoot(), "build.ps1");
        var ast = Parser.ParseFile(path, out _, out _);
        var defined = ast.FindAll(n => n is FunctionDefinitionAst, true).Cast<FunctionDefinitionAst>().Select(f => f.Name).ToHashSet();
        var called = ast.FindAll(n => n is CommandAst, true).Cast<CommandAst>()
            .Select(c => c.GetCommandName()).Where(n => n != null && n.StartsWith("Invoke-", StringComparison.Ordinal)).Distinct();
        Assert.That(called, Is.SubsetOf(defined));
    }
}
