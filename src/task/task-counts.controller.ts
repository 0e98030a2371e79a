import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { TaskCountCheckDto, TaskCountsQueryDto } from './task.dto';
import { TaskCountsService } from './task-counts.service';

@ApiTags('tasks')
@Controller('tasks/counts')
export class TaskCountsController {
  constructor(private readonly service: TaskCountsService) {}

  @Get('drift')
  @ApiOperation({ summary: "Recount tasks' links and list the tasks whose counters differ (reads every link checked)" })
  @ApiOkResponse({ type: TaskCountCheckDto })
  @ApiErrors(400)
  drift(@Query() query: TaskCountsQueryDto): Promise<TaskCountCheckDto> {
    return this.service.check(query.taskId);
  }

  @Post('repair')
  @HttpCode(200)
  @ApiOperation({ summary: 'Set the counters of the tasks that drifted to a recount of their links' })
  @ApiOkResponse({ type: TaskCountCheckDto })
  @ApiErrors(400)
  repair(@Query() query: TaskCountsQueryDto): Promise<TaskCountCheckDto> {
    return this.service.repair(query.taskId);
  }
}
